package ml

// randomForestAlgorithm is not implemented yet: an entry without a constructor is not offered.
func randomForestAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "RANDOM_FOREST"}}
}
