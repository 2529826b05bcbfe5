package ml

// naiveBayesAlgorithm is not implemented yet: an entry without a constructor is not offered.
func naiveBayesAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "NAIVE_BAYES"}}
}
