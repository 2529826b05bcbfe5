package ml

// knnAlgorithm is not implemented yet: an entry without a constructor is not offered.
func knnAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "KNN"}}
}
