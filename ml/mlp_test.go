package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestMLPMatchesSklearn trains MLP with hiddenLayerSizes "64" and maxIter
// 500, as the reference StandardScaler + MLPClassifier/MLPRegressor
// (hidden_layer_sizes=(64,), max_iter=500, random_state=0), on the .split
// train rows of every dataset. The bar is a test metric within 0.02 of
// scikit-learn's or better; since seed 0 reproduces random_state=0 (same
// initial weights and epoch shuffles), the metrics in fact agree exactly,
// and so does whether training converged before maxIter (scikit-learn's
// diabetes regression does not: its target is not scaled, hence R² ≈ 0).
func TestMLPMatchesSklearn(t *testing.T) {
	var ref struct {
		Results []struct {
			Dataset, Model string
			Converged      bool
		}
	}
	readJSON(t, "reference/sklearn.json", &ref)
	for _, tc := range []struct {
		dataset string
		task    Task
		metric  string
	}{
		{"iris", Classification, "accuracy"},
		{"wine", Classification, "accuracy"},
		{"breast_cancer", Classification, "accuracy"},
		{"digits", Classification, "accuracy"},
		{"diabetes", Regression, "r2"},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			features, target := readCSV(t, tc.dataset)
			train, test := readSplit(t, tc.dataset)
			cfg := TrainConfig{Algorithm: "MLP", Task: tc.task, Params: map[string]any{"hiddenLayerSizes": "64", "maxIter": 500}}
			m := trainOrFatal(t, cfg, takeColumns(features, train), target.Take(train))
			metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
			if err != nil {
				t.Fatal(err)
			}
			var got float64
			if tc.task == Regression {
				got = *metrics.R2
			} else {
				got = *metrics.Accuracy
			}
			want := sklearnMetric(t, tc.dataset, "mlp_64", tc.metric)
			if got < want-0.02 {
				t.Errorf("test %s %.4f, sklearn %.4f", tc.metric, got, want)
			}
			est := m.est.(*MLP)
			for _, r := range ref.Results {
				if r.Dataset == tc.dataset && r.Model == "mlp_64" && r.Converged != est.Converged {
					t.Errorf("converged %v after %d epochs; sklearn converged %v", est.Converged, est.Iterations, r.Converged)
				}
			}
			t.Logf("test %s %.4f (sklearn %.4f); %d epochs, converged %v", tc.metric, got, want, est.Iterations, est.Converged)
		})
	}
}

// mlpFixtureCase is a small problem solved by scikit-learn 1.2.1: its
// loss_curve_ and its predictions (predict, or predict_proba row-major) on
// the training rows, with the same parameters (params uses mlgraph's
// names). The data and results below were printed by this script:
//
//	import numpy as np
//	from sklearn.neural_network import MLPRegressor, MLPClassifier
//	rs = np.random.RandomState(42)
//	X = np.round(rs.normal(size=(13,3)), 2)
//	yreg = np.round(X @ [1.5, -2, 0.5] + 0.3*X[:,0]**2 + 1, 2)
//	ybin = (X[:,0] + X[:,1] > 0).astype(int)
//	ymul = np.array([0,1,2]*4+[1])
//	MLPRegressor(hidden_layer_sizes=(5,4), activation='tanh', alpha=0.01, learning_rate_init=0.01,
//	             batch_size=4, max_iter=20, random_state=3).fit(X, yreg)
//	MLPRegressor(hidden_layer_sizes=(3,), activation='identity', learning_rate_init=0.05,
//	             batch_size=5, max_iter=15, random_state=0, shuffle=False).fit(X, yreg)
//	MLPClassifier(hidden_layer_sizes=(6,), activation='logistic', alpha=0.001, learning_rate_init=0.05,
//	              batch_size=5, max_iter=20, random_state=1).fit(X, ybin)
//	MLPClassifier(hidden_layer_sizes=(5,), learning_rate_init=0.05, max_iter=300, n_iter_no_change=3,
//	              tol=1e-3, random_state=7, beta_1=0.8, beta_2=0.99, epsilon=1e-7).fit(X, ymul)
type mlpFixtureCase struct {
	name        string
	params      string
	task        Task
	classes     int
	lossCurve   []float64
	predictions []float64
	converged   bool
}

var mlpFixtureX = []float64{0.5, -0.14, 0.65, 1.52, -0.23, -0.23, 1.58, 0.77, -0.47, 0.54, -0.46, -0.47, 0.24, -1.91, -1.72, -0.56, -1.01, 0.31, -0.91, -1.41, 1.47, -0.23, 0.07, -1.42, -0.54, 0.11, -1.15, 0.38, -0.6, -0.29, -0.6, 1.85, -0.01, -1.06, 0.82, -1.22, 0.21, -1.96, -1.33}
var mlpFixtureYReg = []float64{2.43, 4.32, 2.34, 2.58, 4.34, 2.43, 3.44, -0.18, -0.52, 2.67, -3.5, -2.5, 4.58}
var mlpFixtureYBin = []float64{1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0}
var mlpFixtureYMul = []float64{0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 1.0}
var mlpFixtureCases = []mlpFixtureCase{
	{
		name:   "regression tanh 5,4",
		params: `{"hiddenLayerSizes": "5,4", "activation": "tanh", "alpha": 0.01, "learningRateInit": 0.01, "batchSize": 4, "maxIter": 20, "seed": 3}`,
		task:   Regression, classes: 0,
		lossCurve:   []float64{4.683600698917543, 4.154380107004427, 3.6811232912377645, 3.2082987540266794, 2.8420915067354744, 2.4711711571718715, 2.1313707061841973, 1.8521655009838724, 1.597766214371447, 1.3542824602645689, 1.125429333789087, 0.9313078450175022, 0.7594927416889766, 0.6124902905917632, 0.5201808265494459, 0.4122504831938916, 0.3465723915580052, 0.2897526879251476, 0.2741794663372147, 0.24734331256530356},
		predictions: []float64{3.0458557134160307, 3.293833825297155, 2.1607280250509397, 3.215823296100058, 3.3371129277335485, 3.0687979842316633, 3.1845625536964137, -0.08058230280610354, -0.7808512968085242, 3.235711631340878, -2.878687017505506, -2.6256365317788832, 3.344032148543267},
		converged:   false,
	},
	{
		name:   "regression identity",
		params: `{"hiddenLayerSizes": "3", "activation": "identity", "learningRateInit": 0.05, "batchSize": 5, "maxIter": 15, "shuffle": false}`,
		task:   Regression, classes: 0,
		lossCurve:   []float64{3.5854348603675463, 1.7883405415156775, 0.7505496368247735, 0.324493972753448, 0.23335290866768485, 0.1660383937960612, 0.10781144445553589, 0.11673971813004144, 0.12894949966465827, 0.08728799882156534, 0.03446076723205841, 0.025989896325737484, 0.043771526864492136, 0.042798177744292336, 0.027021573952862293},
		predictions: []float64{2.538360923943025, 3.972906408152792, 2.070684708843544, 2.707922203107481, 4.405094412172089, 2.3097383326555256, 3.0167192063433137, 0.028447220527371586, -0.43033491269545465, 2.7933157730998888, -3.310641962374553, -2.650438163952731, 4.625413388328921},
		converged:   false,
	},
	{
		name:   "binary logistic",
		params: `{"hiddenLayerSizes": "6", "activation": "logistic", "alpha": 0.001, "learningRateInit": 0.05, "batchSize": 5, "maxIter": 20, "seed": 1}`,
		task:   Classification, classes: 2,
		lossCurve:   []float64{0.6355027730138366, 0.5808976453375083, 0.5180791401807524, 0.4676918879971184, 0.4184913501574415, 0.369491003586779, 0.32551544062941884, 0.28644282793658427, 0.2519460646097626, 0.2277375422015759, 0.2001093896681285, 0.18057052534213922, 0.16687301853624678, 0.1524030942070725, 0.1425441578632975, 0.13757988919386407, 0.1261863472728753, 0.12258213942012106, 0.11765625742144172, 0.11180045316311384},
		predictions: []float64{0.04906408213497504, 0.950935917865025, 0.02236362628148747, 0.9776363737185125, 0.015497403374708063, 0.9845025966252919, 0.4108549005262664, 0.5891450994737336, 0.9889739048231945, 0.011026095176805478, 0.9758659337096005, 0.024134066290399533, 0.9790408863143008, 0.0209591136856992, 0.953024828453141, 0.04697517154685903, 0.9673550863449094, 0.032644913655090584, 0.6128112016781867, 0.3871887983218133, 0.04363209662457179, 0.9563679033754282, 0.9687028683655062, 0.03129713163449373, 0.9883985897464483, 0.01160141025355161},
		converged:   false,
	},
	{
		name:   "multiclass relu converges",
		params: `{"hiddenLayerSizes": "5", "learningRateInit": 0.05, "maxIter": 300, "nIterNoChange": 3, "tol": 0.001, "seed": 7, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-7}`,
		task:   Classification, classes: 3,
		lossCurve:   []float64{1.4100215751158705, 1.2931754126901025, 1.189958903437197, 1.1091383094103213, 1.0432386722038474, 0.9885194417083388, 0.9389947408389194, 0.8951171291625456, 0.8597180682773288, 0.8262687988959337, 0.7955235541918092, 0.7649195172292773, 0.7357024306864547, 0.7087858156848588, 0.6844915603975855, 0.6602476041829035, 0.6353196801122986, 0.6168187443974508, 0.5973699078284713, 0.5756913385502026, 0.554381989109931, 0.5343249741258479, 0.5114447169816939, 0.4899860451026282, 0.4672701075121217, 0.44588737865432615, 0.42673564318058343, 0.4078514398178238, 0.39040316322058904, 0.37103313133281496, 0.3524670154958295, 0.3360520001853139, 0.31779238966540213, 0.3065848030427015, 0.2880714043251717, 0.2731153456461673, 0.25779485080536724, 0.2442687894936893, 0.23087027918348346, 0.21845490871935624, 0.20619929134909817, 0.1939483678301787, 0.18307367723251927, 0.17227876210734158, 0.16167923540878315, 0.15306461056999257, 0.1433316257178455, 0.13573914930421294, 0.1281230333418542, 0.12024724284859747, 0.11325455104541317, 0.1064070330306074, 0.10040992201594404, 0.0946204400877415, 0.08926149895221468, 0.08436696341045472, 0.0798315318397599, 0.07543926880388996, 0.07118607303431025, 0.06760473387820422, 0.06390521435267525, 0.0608316293810554, 0.05777297976490791, 0.05490298874894339, 0.05214019685507173, 0.049537777950514186, 0.04728184429452494, 0.045039515419822755, 0.043112390481243164, 0.04119633909575412, 0.03942478145986275, 0.03772726559496475, 0.03605380849039339, 0.03455777824249575, 0.03328392068036864, 0.03199138619728967, 0.03083592539866268, 0.029602648603825332, 0.028589079473820892, 0.02759089571390452, 0.026672864586502584, 0.02578531365880252, 0.02490912376862714},
		predictions: []float64{0.9963144742873099, 0.0003428640078007175, 0.003342661704889461, 0.045620621619239014, 0.951717949349733, 0.0026614290310279323, 0.0036605372461981766, 0.03308407899212477, 0.9632553837616771, 0.9373696884092138, 0.039057422275051275, 0.02357288931573488, 5.33440640751701e-07, 0.9999994665593593, 7.089993172008483e-18, 0.0340234616272622, 0.00012537237294603585, 0.9658511659997917, 0.9999497433963865, 3.5458390137555825e-05, 1.4798213475812707e-05, 0.00560607156881626, 0.9711174089433466, 0.02327651948783726, 0.0046198907852364095, 0.0163454098870845, 0.9790346993276791, 0.9692207808957142, 0.0017673619540908628, 0.02901185715019489, 1.7794538644471432e-06, 0.9787530215090113, 0.021245199037124293, 1.6354037806880508e-06, 0.014703989926285119, 0.9852943746699342, 5.4564467145549356e-05, 0.9999454355328491, 5.2356875382386836e-15},
		converged:   true,
	},
}

// TestMLPReproducesSklearn checks the whole training run (Glorot
// initialisation from the seed, epoch shuffles, mini-batches with a short
// last one, forward and backward passes of every activation and output,
// the L2 penalty, Adam, the stopping rule) against scikit-learn on small
// problems: the loss after every epoch and the final predictions agree to
// rounding.
func TestMLPReproducesSklearn(t *testing.T) {
	x := mat.NewDense(13, 3, mlpFixtureX)
	for _, tc := range mlpFixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(tc.params), &raw); err != nil {
				t.Fatal(err)
			}
			params, err := ResolveParams("MLP", raw)
			if err != nil {
				t.Fatal(err)
			}
			y := mlpFixtureYReg
			switch tc.classes {
			case 2:
				y = mlpFixtureYBin
			case 3:
				y = mlpFixtureYMul
			}
			m := newMLP(params).(*MLP)
			if err := m.Fit(context.Background(), x, y, tc.task, tc.classes); err != nil {
				t.Fatal(err)
			}
			if len(m.LossCurve) != len(tc.lossCurve) || m.Iterations != len(tc.lossCurve) || m.Converged != tc.converged {
				t.Fatalf("%d epochs (loss curve of %d), converged %v; sklearn %d epochs, converged %v",
					m.Iterations, len(m.LossCurve), m.Converged, len(tc.lossCurve), tc.converged)
			}
			for e, want := range tc.lossCurve {
				if relDiff(m.LossCurve[e], want) > 1e-12 {
					t.Errorf("epoch %d: loss %.17g, sklearn %.17g", e+1, m.LossCurve[e], want)
				}
			}
			cols := max(1, tc.classes)
			pred := mat.NewDense(13, cols, nil)
			m.Predict(x, pred)
			for i, want := range tc.predictions {
				if got := pred.RawMatrix().Data[i]; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Errorf("prediction %d (row %d): %.17g, sklearn %.17g", i, i/cols, got, want)
				}
			}
		})
	}
}

// TestMLPGradient compares the backpropagated gradient of the batch loss
// J_B (with its L2 term) against central finite differences, for every
// activation and output, with the batch split into several row segments
// so that the reduction of partial gradients is covered too.
func TestMLPGradient(t *testing.T) {
	const rows, p = 23, 4
	r := newNumpyRandomState(11)
	x := mat.NewDense(rows, p, nil)
	for i := range rows {
		for j := range p {
			x.Set(i, j, r.uniform(-2, 2))
		}
	}
	for _, act := range []string{"relu", "tanh", "logistic", "identity"} {
		for _, tc := range []struct {
			task     Task
			nClasses int
		}{{Regression, 0}, {Classification, 2}, {Classification, 3}} {
			t.Run(fmt.Sprintf("%s/%s/%d", act, tc.task, tc.nClasses), func(t *testing.T) {
				y := make([]float64, rows)
				for i := range y {
					if tc.task == Regression {
						y[i] = r.uniform(-3, 3)
					} else {
						y[i] = float64(i % tc.nClasses)
					}
				}
				activation, _ := parseMLPActivation(act)
				widths := []int{p, 5, 3, mlpOutputs(tc.task, tc.nClasses)}
				tr := newMLPTrainer(widths, activation, mlpOutputKind(tc.task, tc.nClasses), newNumpyRandomState(5))
				tr.allocate(rows, p)
				tr.setSegments(7)
				if len(tr.segsFull) != 3 {
					t.Fatalf("%d segments, want 3", len(tr.segsFull))
				}
				all := make([]int, rows)
				for i := range all {
					all[i] = i
				}
				tr.gather(x.RawMatrix(), y, all)
				const alpha = 0.3
				_, g := tr.gradient(rows, alpha)
				grad := slices.Clone(g)
				for k := range tr.theta {
					const h = 1e-6
					saved := tr.theta[k]
					tr.theta[k] = saved + h
					up, _ := tr.gradient(rows, alpha)
					tr.theta[k] = saved - h
					down, _ := tr.gradient(rows, alpha)
					tr.theta[k] = saved
					numeric := (up - down) / (2 * h)
					if math.Abs(numeric-grad[k]) > 1e-6*math.Max(1, math.Abs(numeric)) {
						t.Errorf("parameter %d: backprop %.10g, finite difference %.10g", k, grad[k], numeric)
					}
				}
			})
		}
	}
}

// TestMLPParallelDeterminism: batches large enough to be split into row
// segments give bit-identical models with one core and with several.
func TestMLPParallelDeterminism(t *testing.T) {
	x, y := syntheticClassification(600, 30, 3)
	fit := func(procs int) *MLP {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		params, _ := ResolveParams("MLP", map[string]any{"hiddenLayerSizes": "64,16", "maxIter": 5})
		m := newMLP(params).(*MLP)
		if err := m.Fit(context.Background(), x, y, Classification, 2); err != nil {
			t.Fatal(err)
		}
		return m
	}
	serial, parallel := fit(1), fit(4)
	tr := newMLPTrainer([]int{30, 64, 16, 1}, mlpReLU, mlpLogisticOutput, newNumpyRandomState(0))
	tr.allocate(200, 30)
	if len(tr.segsFull) < 2 {
		t.Fatalf("batches of 200 rows run in %d segment; the test needs several", len(tr.segsFull))
	}
	if !mlpSameWeights(serial, parallel) || !slices.Equal(serial.LossCurve, parallel.LossCurve) {
		t.Error("GOMAXPROCS=1 and GOMAXPROCS=4 give different models")
	}
}

func mlpSameWeights(a, b *MLP) bool {
	if len(a.Layers) != len(b.Layers) {
		return false
	}
	for l := range a.Layers {
		if !slices.Equal(a.Layers[l].W, b.Layers[l].W) || !slices.Equal(a.Layers[l].B, b.Layers[l].B) {
			return false
		}
	}
	return true
}

// TestMLPSeed: the same seed gives the same model, another seed another.
func TestMLPSeed(t *testing.T) {
	features, target := readCSV(t, "wine")
	fit := func(seed int) *MLP {
		cfg := TrainConfig{Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "16", "maxIter": 30, "seed": seed}}
		return trainOrFatal(t, cfg, features, target).est.(*MLP)
	}
	a, b, c := fit(4), fit(4), fit(5)
	if !mlpSameWeights(a, b) || !slices.Equal(a.LossCurve, b.LossCurve) {
		t.Error("seed 4 twice gives different models")
	}
	if mlpSameWeights(a, c) {
		t.Error("seeds 4 and 5 give the same model")
	}
}

// TestMLPStopping: tol and nIterNoChange stop training, maxIter bounds
// it, and the loss curve decreases on an easy problem.
func TestMLPStopping(t *testing.T) {
	features, target := readCSV(t, "iris")
	fit := func(params map[string]any) *MLP {
		return trainOrFatal(t, TrainConfig{Algorithm: "MLP", Params: params}, features, target).est.(*MLP)
	}
	m := fit(map[string]any{"maxIter": 7})
	if m.Iterations != 7 || len(m.LossCurve) != 7 || m.Converged {
		t.Errorf("maxIter 7: %d epochs, converged %v", m.Iterations, m.Converged)
	}
	if !(m.LossCurve[6] < m.LossCurve[0]) {
		t.Errorf("loss did not decrease: %v", m.LossCurve)
	}
	// With a tolerance no epoch can beat, the first epoch still improves
	// on the initial +Inf, then training stops when the next
	// nIterNoChange+1 epochs have not improved.
	m = fit(map[string]any{"tol": 100.0, "nIterNoChange": 4})
	if m.Iterations != 6 || !m.Converged {
		t.Errorf("tol 100, nIterNoChange 4: %d epochs, converged %v; want 6, true", m.Iterations, m.Converged)
	}
}

// TestMLPEarlyStopping: the validation score is recorded every epoch,
// training stops on it, and the weights of the best epoch are kept.
func TestMLPEarlyStopping(t *testing.T) {
	features, target := readCSV(t, "breast_cancer")
	params := map[string]any{"hiddenLayerSizes": "32", "earlyStopping": true, "seed": 2}
	model := trainOrFatal(t, TrainConfig{Algorithm: "MLP", Params: params}, features, target)
	m := model.est.(*MLP)
	if len(m.ValidationScores) != m.Iterations || !m.Converged || m.Iterations >= m.MaxIter {
		t.Fatalf("%d validation scores over %d epochs, converged %v", len(m.ValidationScores), m.Iterations, m.Converged)
	}
	// Rebuild the hold-out set: the same generator draws the initial
	// weights, then the split.
	x, err := model.prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, target.Len())
	for i := range y {
		y[i] = float64(slices.Index(model.Classes, target.Text(i)))
	}
	rng := newNumpyRandomState(2)
	_, p := x.Dims()
	newMLPTrainer([]int{p, 32, 1}, mlpReLU, mlpLogisticOutput, rng)
	_, valRows, err := mlpValidationSplit(y, Classification, 2, 0.1, rng)
	if err != nil {
		t.Fatal(err)
	}
	if len(valRows) != 57 {
		t.Errorf("%d validation rows, want ⌈0.1·569⌉ = 57", len(valRows))
	}
	val := newMLPValidation(x, y, valRows, mlpLogisticOutput)
	score := val.score(newMLPNetFromLayers(m.Layers, mlpReLU))
	if best := slices.Max(m.ValidationScores); score != best {
		t.Errorf("kept weights score %v on the validation rows, best epoch %v", score, best)
	}
}

// TestMLPValidationSplit: classes keep their proportions in the hold-out
// set, a class of one row stays in training, and regression draws at
// random.
func TestMLPValidationSplit(t *testing.T) {
	var y []float64
	for k, count := range []int{50, 30, 19, 1} {
		for range count {
			y = append(y, float64(k))
		}
	}
	train, val, err := mlpValidationSplit(y, Classification, 4, 0.1, newNumpyRandomState(0))
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 4)
	for _, i := range val {
		counts[int(y[i])]++
	}
	if !slices.Equal(counts, []int{5, 3, 2, 0}) || len(train) != 90 {
		t.Errorf("validation rows per class %v and %d training rows; want [5 3 2 0] and 90", counts, len(train))
	}
	if all := slices.Sorted(slices.Values(append(slices.Clone(train), val...))); !slices.Equal(all, mlpRange(100)) {
		t.Error("train and validation rows do not partition the rows")
	}
	train, val, err = mlpValidationSplit(make([]float64, 25), Regression, 0, 0.3, newNumpyRandomState(0))
	if err != nil || len(val) != 8 || len(train) != 17 || !slices.IsSorted(val) {
		t.Errorf("regression split: %d/%d rows, %v", len(train), len(val), err)
	}
}

func mlpRange(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestMLPStandardizeTarget: on diabetes, whose target is of size ~150,
// scaling it lets the network fit within a few dozen epochs (here stopped
// early on a validation set, since 64 units overfit 353 noisy rows), where
// the scikit-learn default (unscaled) has after 500 epochs barely reached
// the mean (test R² 0.004).
func TestMLPStandardizeTarget(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	train, test := readSplit(t, "diabetes")
	cfg := TrainConfig{Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "64", "standardizeTarget": true, "earlyStopping": true}}
	m := trainOrFatal(t, cfg, takeColumns(features, train), target.Take(train))
	metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
	if err != nil {
		t.Fatal(err)
	}
	est := m.est.(*MLP)
	if *metrics.R2 < 0.25 || est.TargetScale == 1 || est.TargetMean == 0 {
		t.Errorf("test R² %.4f with target mean %v scale %v; want ≥ 0.25", *metrics.R2, est.TargetMean, est.TargetScale)
	}
	t.Logf("standardised target: test R² %.4f after %d epochs", *metrics.R2, est.Iterations)
}

// TestMLPProbabilities: binary and multiclass rows sum to one and the
// binary layout is [P(class 0), P(class 1)].
func TestMLPProbabilities(t *testing.T) {
	for _, dataset := range []string{"breast_cancer", "iris"} {
		features, target := readCSV(t, dataset)
		m := trainOrFatal(t, TrainConfig{Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "8", "maxIter": 20}}, features, target)
		out, err := m.Predict(features)
		if err != nil {
			t.Fatal(err)
		}
		n, k := out.Proba.Dims()
		if k != len(m.Classes) {
			t.Fatalf("%s: %d probability columns for %d classes", dataset, k, len(m.Classes))
		}
		for i := range n {
			if s := floats.Sum(out.Proba.RawRowView(i)); math.Abs(s-1) > 1e-12 {
				t.Fatalf("%s row %d: probabilities sum to %v", dataset, i, s)
			}
		}
	}
}

// TestMLPSaveLoad: a saved model predicts bit-identically after loading,
// and corrupt weights fail at load.
func TestMLPSaveLoad(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		params  map[string]any
	}{
		{"iris", map[string]any{"hiddenLayerSizes": "16,8", "maxIter": 50}},
		{"breast_cancer", map[string]any{"hiddenLayerSizes": "8", "maxIter": 20, "activation": "tanh"}},
		{"diabetes", map[string]any{"hiddenLayerSizes": "8", "maxIter": 50, "standardizeTarget": true}},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			features, target := readCSV(t, tc.dataset)
			m := trainOrFatal(t, TrainConfig{Algorithm: "MLP", Params: tc.params}, features, target)
			loaded := reloaded(t, m)
			before, after := predictionValues(t, m, features), predictionValues(t, loaded, features)
			for i := range before {
				if math.Float64bits(before[i]) != math.Float64bits(after[i]) {
					t.Fatalf("value %d: %v before save, %v after load", i, before[i], after[i])
				}
			}
			if got := loaded.est.(*MLP).LossCurve; !slices.Equal(got, m.est.(*MLP).LossCurve) {
				t.Error("loss curve changed")
			}

			data, _ := m.MarshalBinary()
			corrupt := func(edit func(est map[string]any)) error {
				var env map[string]any
				if err := json.Unmarshal(data, &env); err != nil {
					t.Fatal(err)
				}
				edit(env["estimator"].(map[string]any))
				bad, _ := json.Marshal(env)
				_, err := LoadModel(bad)
				return err
			}
			layers := func(est map[string]any) []any { return est["Layers"].([]any) }
			for name, edit := range map[string]func(map[string]any){
				"short weights": func(est map[string]any) {
					l := layers(est)[0].(map[string]any)
					l["W"] = l["W"].([]any)[1:]
				},
				"missing layer":  func(est map[string]any) { est["Layers"] = layers(est)[:1] },
				"other sizes":    func(est map[string]any) { est["HiddenLayerSizes"] = "3" },
				"bad activation": func(est map[string]any) { est["Activation"] = "softsign" },
				"zero scale":     func(est map[string]any) { est["TargetScale"] = 0 },
				"other task":     func(est map[string]any) { est["Task"] = "CLUSTERING" },
			} {
				if err := corrupt(edit); err == nil {
					t.Errorf("%s: loaded without error", name)
				} else if errors.As(err, new(*InputError)) {
					t.Errorf("%s: %v is an *InputError", name, err)
				}
			}
		})
	}
}

// TestMLPParamErrors: unusable parameters are *InputErrors naming them.
func TestMLPParamErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	train := func(params map[string]any) error {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "MLP", Params: params}, features, target)
		return err
	}
	for _, sizes := range []string{"", " ", "64,", ",64", "64;32", "abc", "0", "-3", "2.5", "100001"} {
		wantInputError(t, train(map[string]any{"hiddenLayerSizes": sizes}), "hiddenLayerSizes", fmt.Sprintf("%q", sizes))
	}
	wantInputError(t, train(map[string]any{"hiddenLayerSizes": "100000,100000"}), "hiddenLayerSizes", "at most")
	wantInputError(t, train(map[string]any{"activation": "softmax"}), "activation")
	wantInputError(t, train(map[string]any{"validationFraction": 1.0}), "validationFraction")
	wantInputError(t, train(map[string]any{"learningRateInit": 0.0}), "learningRateInit")
	wantInputError(t, train(map[string]any{"beta2": 1.0}), "beta2")
	wantInputError(t, train(map[string]any{"batchSize": -1}), "batchSize")

	one := []*Column{NewNumeric("x", []float64{1})}
	_, err := Train(context.Background(), TrainConfig{Algorithm: "MLP", Params: map[string]any{"earlyStopping": true}}, one, NewNumeric("y", []float64{2}))
	wantInputError(t, err, "earlyStopping")

	// A step size far too large overflows; that is reported, not returned
	// as a model of NaNs.
	diabetes, y := readCSV(t, "diabetes")
	_, err = Train(context.Background(), TrainConfig{Algorithm: "MLP", Params: map[string]any{"learningRateInit": 1e300, "maxIter": 5}}, diabetes, y)
	wantInputError(t, err, "learningRateInit")
}

// TestMLPCancel: a cancelled context stops training with its error.
func TestMLPCancel(t *testing.T) {
	x, y := syntheticRegression(500, 5, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	params, _ := ResolveParams("MLP", nil)
	if err := newMLP(params).Fit(ctx, x, y, Regression, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// BenchmarkMLP times epochs of the default network (one hidden layer of
// 100 relu units, batches of 200) on a 200,000×20 regression set; the
// s/epoch metric is the time per pass over the rows.
func BenchmarkMLP(b *testing.B) {
	const epochs = 3
	x, y := syntheticRegression(200000, 20, 1)
	params, _ := ResolveParams("MLP", map[string]any{"maxIter": epochs, "standardizeTarget": true})
	b.ResetTimer()
	for b.Loop() {
		m := newMLP(params).(*MLP)
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			b.Fatal(err)
		}
		if m.Iterations != epochs {
			b.Fatalf("%d epochs, want %d", m.Iterations, epochs)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*epochs), "s/epoch")
}
