package ml

// linearSVMAlgorithm is not implemented yet: an entry without a constructor is not offered.
func linearSVMAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "LINEAR_SVM"}}
}
