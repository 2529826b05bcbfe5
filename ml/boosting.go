package ml

// gradientBoostingAlgorithm is not implemented yet: an entry without a constructor is not offered.
func gradientBoostingAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "GRADIENT_BOOSTING"}}
}
