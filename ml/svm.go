package ml

// svmAlgorithm is not implemented yet: an entry without a constructor is not offered.
func svmAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "SVM"}}
}
