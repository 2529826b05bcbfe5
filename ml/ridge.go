package ml

// ridgeAlgorithm is not implemented yet: an entry without a constructor is not offered.
func ridgeAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "RIDGE"}}
}
