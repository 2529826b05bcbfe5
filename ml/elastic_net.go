package ml

// elasticNetAlgorithm is not implemented yet: an entry without a constructor is not offered.
func elasticNetAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "ELASTIC_NET"}}
}
