package ml

// LearningCurver is implemented by iterative estimators that record their
// training loss per iteration (and, with early stopping, a validation
// score per iteration).
type LearningCurver interface {
	LearningCurves() (loss, validation []float64)
}

// LearningCurves implements LearningCurver.
func (m *MLP) LearningCurves() (loss, validation []float64) { return m.LossCurve, m.ValidationScores }

// LearningCurves returns the estimator's training loss and validation
// score per iteration, if it records them.
func (m *Model) LearningCurves() (loss, validation []float64) {
	if c, ok := m.est.(LearningCurver); ok {
		return c.LearningCurves()
	}
	return nil, nil
}
