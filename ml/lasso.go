package ml

// lassoAlgorithm is not implemented yet: an entry without a constructor is not offered.
func lassoAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "LASSO"}}
}
