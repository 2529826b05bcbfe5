package ml

// decisionTreeAlgorithm is not implemented yet: an entry without a constructor is not offered.
func decisionTreeAlgorithm() algorithm {
	return algorithm{AlgorithmInfo: AlgorithmInfo{Name: "DECISION_TREE"}}
}
