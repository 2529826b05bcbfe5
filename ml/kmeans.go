package ml

// kmeansAlgorithm is not implemented yet: an entry without a constructor is not offered.
func kmeansAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "KMEANS"}}
}
