package ml

// lassoAlgorithm registers the lasso, scikit-learn's Lasso(alpha): w and b
// minimising
//
//	(1/2n)‖y − Xw − b‖² + α‖w‖₁
//
// It is the ElasticNet estimator with L1Ratio fixed at 1 (same coordinate
// descent, same stopping rule, same fitted state).
func lassoAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "LASSO",
			Tasks: []Task{Regression},
			Description: "Lasso: least squares with an L1 penalty (1/2n)‖y − Xw − b‖² + α‖w‖₁, " +
				"which sets the weights of unhelpful features exactly to zero; fitted by coordinate descent.",
			Params: []ParamSpec{
				alphaParam("(1/2n)‖y − Xw − b‖² + α‖w‖₁"),
				maxIterCDParam(),
				tolCDParam(),
				fitInterceptParam(),
			},
		},
		newEstimator: func(params map[string]any) Estimator { return newElasticNet(params, 1) },
	}
}
