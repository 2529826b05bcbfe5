package ml

// mlpAlgorithm is not implemented yet: an entry without a constructor is not offered.
func mlpAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "MLP"}}
}
