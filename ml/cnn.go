package ml

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// CNN is a small convolutional neural network classifier (LeNet-like)
// trained by mini-batch Adam, for image datasets whose design matrix holds
// the pixels of each image, row-major and channel-last, as
// internal/images produces them ("pixel_<row>_<col>" for gray images,
// "pixel_<row>_<col>_red/_green/_blue" for RGB).
//
// The image shape is inferred from the p design columns: a gray H×H image
// when p = H², an RGB H×H image when p = 3H² (Height, Width and Channels
// override the inference). The network is
//
//	conv k×k, Filters1 → ReLU → 2×2 max pool →
//	conv k×k, Filters2 → ReLU → 2×2 max pool →
//	dense Hidden → ReLU → dense K → softmax
//
// Convolutions use 'same' zero padding (k/2 on each side) and stride 1,
// so that they keep the image size and only the pools halve it (rounding
// down: an odd last row or column is dropped). An 8×8 image thus becomes
// 4×4 then 2×2, a 28×28 one 14×14 then 7×7; the sides must be at least 4.
//
// A convolution of the input a (H×W×C, zero outside) with weights W
// (F × C·k·k) and biases b is, at pixel (i, j) and filter f,
//
//	z[f,i,j] = b[f] + Σ_{c<C, u,v<k} W[f, (c·k+u)·k+v]·a[c, i+u−k/2, j+v−k/2]
//
// computed for a whole batch as one matrix product z = W·cols + b, where
// cols (im2col) has a column per output pixel of every image holding its
// k×k×C patch. Max pooling keeps the largest of each 2×2 block and
// remembers where it was.
//
// The loss of a mini-batch B is the mean cross-entropy plus the MLP's L2
// penalty on the weights (not the biases),
//
//	J_B = (1/|B|)·Σ_{i∈B} −log p_{y_i} + α/(2|B|)·Σ ‖W‖²,
//
// and its gradient is backpropagated: δ = p − onehot(y) at the output,
// dense layers as in the MLP (∂J/∂W = aᵀ·δ, δ_in = δ·Wᵀ ⊙ [a > 0]), a pool
// routes each δ to the position of its block's maximum (zero elsewhere),
// ReLU passes δ where its output is positive, and a convolution has
// ∂J/∂W = δ·colsᵀ, ∂J/∂b[f] = Σ_pixels δ[f] and δ_cols = Wᵀ·δ, whose
// entries are added back onto the pixels their patches read (col2im, the
// adjoint of im2col). Each step is Adam as in the MLP (β₁ = 0.9,
// β₂ = 0.999, ε = 10⁻⁸).
//
// Inputs are standardised inside the estimator with one mean and one
// standard deviation over all pixels of the training images (InputMean
// and InputScale), not per column, so that a filter sees the same scale
// everywhere in the image; the algorithm therefore asks the Preprocessor
// for no scaling.
//
// Weights start He-uniform, U(−√(6/fan_in), √(6/fan_in)), biases zero,
// drawn from numpy's RandomState seeded with Seed, which also shuffles the
// rows every epoch. Training runs Epochs epochs; with EarlyStopping a
// ValidationFraction of the rows (stratified by class) is held out, training
// stops when more than NIterNoChange epochs in a row fail to beat the best
// validation accuracy, and the best epoch's weights are kept.
//
// Each mini-batch is split into row segments fixed by its size whose
// passes run in parallel and whose gradients are summed in segment order,
// so the model does not depend on the number of cores.
type CNN struct {
	Filters1, Filters2 int
	KernelSize         int
	Hidden             int
	Alpha              float64
	LearningRate       float64
	BatchSize          int
	Epochs             int
	EarlyStopping      bool
	ValidationFraction float64
	NIterNoChange      int
	Seed               int
	// Height, Width and Channels are the image shape: parameters (0 means
	// inferred from the number of columns), then the fitted shape.
	Height, Width, Channels int

	// Classes is the number of classes K.
	Classes int
	// InputMean and InputScale standardise every pixel: (x − mean)/scale.
	InputMean, InputScale float64
	// Conv1, Conv2, Dense and Output are the fitted layers. A convolution
	// has W Outputs×Inputs row-major (one row per filter): W[f·Inputs +
	// (c·k+u)·k+v] is filter f's weight for input channel c at offset
	// (u, v) of its k×k patch. The dense layers compute out = in·W + B
	// with W Inputs×Outputs row-major (the MLP's layout); Dense's input is
	// the second pool's output flattened channel-major, (f·H/4 + i)·W/4 + j.
	Conv1, Conv2, Dense, Output CNNLayer
	// LossCurve is the training loss after each epoch, ValidationScores
	// the validation accuracy after each epoch (only with EarlyStopping).
	LossCurve        []float64
	ValidationScores []float64 `json:",omitempty"`
	Iterations       int
}

// CNNLayer is one layer of a CNN: Inputs and Outputs are its widths (a
// convolution's input is one k×k×C patch), W its weights (see CNN for the
// layout) and B its biases, one per output.
type CNNLayer struct {
	Inputs, Outputs int
	W, B            []float64
}

const (
	cnnMinSide   = 4
	cnnMaxParams = 50_000_000
	// cnnMaxWorkFloats bounds the activation buffers of a fit (1 GiB), so
	// that large images with many filters fail with a message rather
	// than exhausting memory.
	cnnMaxWorkFloats = 1 << 27
	// A training batch is cut into at most cnnMaxSegments row segments
	// (one per core here) of at least cnnMinSegmentRows images, fixed by
	// the batch size alone; cnnPredictChunk is how many images prediction
	// pushes through the network at a time, and a fit checks ctx every
	// cnnCtxBatches batches.
	cnnMinSegmentRows = 16
	cnnMaxSegments    = 2
	cnnPredictChunk   = 64
	cnnCtxBatches     = 32
)

func cnnAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:       "CNN",
			Tasks:      []Task{Classification},
			ImagesOnly: true,
			Description: "Convolutional neural network for images (conv, pool, conv, pool, dense, softmax) trained by mini-batch Adam; " +
				"the features must be the pixel columns of one image size (gray or RGB, row-major, channel-last).",
			Params: []ParamSpec{
				{Name: "filters1", Type: ParamInt, Default: 16, Min: ptr(1), Max: ptr(256),
					Description: "Filters of the first convolution."},
				{Name: "filters2", Type: ParamInt, Default: 32, Min: ptr(1), Max: ptr(256),
					Description: "Filters of the second convolution."},
				{Name: "kernelSize", Type: ParamInt, Default: 3, Min: ptr(1), Max: ptr(7),
					Description: "Side of the square convolution kernels (odd sizes centre the 'same' padding)."},
				{Name: "hidden", Type: ParamInt, Default: 128, Min: ptr(1), Max: ptr(4096),
					Description: "Units of the dense ReLU layer before the output."},
				{Name: "alpha", Type: ParamFloat, Default: 1e-4, Min: ptr(0),
					Description: "L2 penalty on the weights (not the biases): each mini-batch's loss adds alpha/(2·batch rows)·‖W‖²."},
				{Name: "learningRate", Type: ParamFloat, Default: 1e-3, Min: ptr(0), MinExclusive: true,
					Description: "Adam step size."},
				{Name: "batchSize", Type: ParamInt, Default: 64, Min: ptr(1),
					Description: "Images per mini-batch (clipped to the number of training rows)."},
				{Name: "epochs", Type: ParamInt, Default: 10, Min: ptr(1), Max: ptr(10_000),
					Description: "Passes over the training rows (the most, with earlyStopping)."},
				{Name: "earlyStopping", Type: ParamBool, Default: false,
					Description: "Hold out validationFraction of the training rows (stratified), stop when the validation accuracy has not improved for more than nIterNoChange epochs and keep the weights of the best epoch."},
				{Name: "validationFraction", Type: ParamFloat, Default: 0.1, Min: ptr(0), Max: ptr(1), MinExclusive: true, MaxExclusive: true,
					Description: "Fraction of the training rows held out for earlyStopping."},
				{Name: "nIterNoChange", Type: ParamInt, Default: 3, Min: ptr(1),
					Description: "With earlyStopping, stop after more than nIterNoChange epochs in a row without a better validation accuracy."},
				{Name: "height", Type: ParamInt, Default: 0, Min: ptr(0),
					Description: "Image height in pixels; 0 infers a square image from the number of columns."},
				{Name: "width", Type: ParamInt, Default: 0, Min: ptr(0),
					Description: "Image width in pixels; 0 infers a square image from the number of columns."},
				{Name: "channels", Type: ParamInt, Default: 0, Min: ptr(0),
					Description: "Channels per pixel (1 gray, 3 RGB); 0 infers them from the number of columns."},
				seedParam(),
			},
			// Standardised inside with one mean and scale for all pixels.
			NeedsScaling: false,
		},
		newEstimator: newCNN,
	}
}

func newCNN(params map[string]any) Estimator {
	return &CNN{
		Filters1:           params["filters1"].(int),
		Filters2:           params["filters2"].(int),
		KernelSize:         params["kernelSize"].(int),
		Hidden:             params["hidden"].(int),
		Alpha:              params["alpha"].(float64),
		LearningRate:       params["learningRate"].(float64),
		BatchSize:          params["batchSize"].(int),
		Epochs:             params["epochs"].(int),
		EarlyStopping:      params["earlyStopping"].(bool),
		ValidationFraction: params["validationFraction"].(float64),
		NIterNoChange:      params["nIterNoChange"].(int),
		Height:             params["height"].(int),
		Width:              params["width"].(int),
		Channels:           params["channels"].(int),
		Seed:               params["seed"].(int),
	}
}

// LearningCurves implements LearningCurver.
func (m *CNN) LearningCurves() (loss, validation []float64) { return m.LossCurve, m.ValidationScores }

// imageShape returns the image shape of p columns: the parameters when
// given, else a square gray (p = H²) or RGB (p = 3H²) image.
func (m *CNN) imageShape(p int) (h, w, c int, err error) {
	h, w, c = m.Height, m.Width, m.Channels
	if c == 0 {
		switch {
		case h > 0 && w > 0 && p%(h*w) == 0:
			c = p / (h * w)
		case isSquare(p):
			c = 1
		case p%3 == 0 && isSquare(p/3):
			c = 3
		default:
			return 0, 0, 0, inputErrorf("CNN needs the pixel columns of an image dataset: %d columns are not a square image (gray H×H or RGB H×H×3); set height, width and channels otherwise", p)
		}
	}
	if p%c != 0 {
		return 0, 0, 0, inputErrorf("CNN: %d columns are not images of %d channels", p, c)
	}
	pixels := p / c
	switch {
	case h == 0 && w == 0:
		if !isSquare(pixels) {
			return 0, 0, 0, inputErrorf("CNN needs the pixel columns of an image dataset: %d columns are not a square image of %d channels; set height and width otherwise", p, c)
		}
		h = int(math.Round(math.Sqrt(float64(pixels))))
		w = h
	case h == 0:
		h = pixels / w
	case w == 0:
		w = pixels / h
	}
	if h*w*c != p {
		return 0, 0, 0, inputErrorf("CNN: images of %d×%d pixels with %d channels need %d columns, got %d", h, w, c, h*w*c, p)
	}
	if h < cnnMinSide || w < cnnMinSide {
		return 0, 0, 0, inputErrorf("CNN needs images of at least %d×%d pixels, got %d×%d", cnnMinSide, cnnMinSide, h, w)
	}
	return h, w, c, nil
}

func isSquare(n int) bool {
	if n <= 0 {
		return false
	}
	s := int(math.Round(math.Sqrt(float64(n))))
	return s*s == n
}

// cnnGeometry is the shape of every layer of a network.
type cnnGeometry struct {
	h, w, c        int // input image
	k              int // kernel side
	f1, f2         int // filters
	h2, w2, h4, w4 int // after the first and second pool
	hidden, out    int
}

// flat is the width of the second pool's flattened output.
func (g cnnGeometry) flat() int { return g.h4 * g.w4 * g.f2 }

// layerShapes returns the Inputs×Outputs of conv1, conv2, dense, output.
func (g cnnGeometry) layerShapes() [4][2]int {
	return [4][2]int{
		{g.k * g.k * g.c, g.f1},
		{g.k * g.k * g.f1, g.f2},
		{g.flat(), g.hidden},
		{g.hidden, g.out},
	}
}

func (g cnnGeometry) paramCount() int {
	n := 0
	for _, s := range g.layerShapes() {
		n += (s[0] + 1) * s[1]
	}
	return n
}

// geometry returns the network's shapes for images h×w×c and K classes.
func (m *CNN) geometry(h, w, c, classes int) (cnnGeometry, error) {
	g := cnnGeometry{h: h, w: w, c: c, k: m.KernelSize, f1: m.Filters1, f2: m.Filters2,
		h2: h / 2, w2: w / 2, h4: h / 4, w4: w / 4, hidden: m.Hidden, out: classes}
	if g.k < 1 || g.f1 < 1 || g.f2 < 1 || g.hidden < 1 || classes < 2 {
		return g, fmt.Errorf("CNN has non-positive sizes: kernel %d, filters %d and %d, hidden %d, %d classes", g.k, g.f1, g.f2, g.hidden, classes)
	}
	if n := g.paramCount(); n > cnnMaxParams {
		return g, inputErrorf("CNN of filters %d and %d, hidden %d on %d×%d×%d images has %d weights; at most %d are supported", g.f1, g.f2, g.hidden, h, w, c, n, cnnMaxParams)
	}
	return g, nil
}

// cnnNet is a network's parameters as views into one flat vector theta
// (each layer's weights then its biases, in layer order).
type cnnNet struct {
	g      cnnGeometry
	theta  []float64
	layers [4]cnnNetLayer
}

type cnnNetLayer struct {
	in, out int
	w, b    []float64
	off     int // offset of w in theta; b follows w
}

func newCNNNet(g cnnGeometry, theta []float64) *cnnNet {
	net := &cnnNet{g: g, theta: theta}
	off := 0
	for l, s := range g.layerShapes() {
		in, out := s[0], s[1]
		net.layers[l] = cnnNetLayer{in: in, out: out, w: theta[off : off+in*out], b: theta[off+in*out : off+(in+1)*out], off: off}
		off += (in + 1) * out
	}
	return net
}

func (m *CNN) fittedLayers() [4]*CNNLayer {
	return [4]*CNNLayer{&m.Conv1, &m.Conv2, &m.Dense, &m.Output}
}

// fittedNet builds the computing form of the fitted layers.
func (m *CNN) fittedNet() *cnnNet {
	g, err := m.geometry(m.Height, m.Width, m.Channels, m.Classes)
	if err != nil {
		panic(err) // checked by Fit or checkShape
	}
	net := newCNNNet(g, make([]float64, g.paramCount()))
	for l, layer := range m.fittedLayers() {
		copy(net.layers[l].w, layer.W)
		copy(net.layers[l].b, layer.B)
	}
	return net
}

func (n *cnnNet) export() [4]CNNLayer {
	var out [4]CNNLayer
	for l, nl := range n.layers {
		out[l] = CNNLayer{Inputs: nl.in, Outputs: nl.out, W: append([]float64(nil), nl.w...), B: append([]float64(nil), nl.b...)}
	}
	return out
}

// cnnWork holds the activations and gradients of up to rows images.
// Convolution inputs and outputs are channel-major over the batch (the
// layout that gives BLAS long rows): with N the images in the pass, a
// buffer of C channels of H×W images holds image r's channel c at pixel
// (i, j) at ((c·N + r)·H + i)·W + j. Patch matrices (im2col) are
// k·k·C × N·H·W, one column per output pixel.
type cnnWork struct {
	x []float64 // input images, C×N×H×W
	// Forward: patches, conv outputs (after ReLU), pool outputs and the
	// index of each pool output's maximum in the conv output; flat is the
	// second pool's output as rows N×(F2·H4·W4) for the dense layer.
	cols1, z1, p1 []float64
	arg1          []int32
	cols2, z2, p2 []float64
	arg2          []int32
	flat          []float64
	hid, out      []float64
	// Backward: ∂J/∂ of the same buffers.
	dOut, dHid, dFlat, dP2, dZ2, dCols2, dP1, dZ1 []float64
	grad                                          []float64
	y                                             []float64
	loss                                          float64
}

// workFloats is the size of the buffers of a work area per image: the
// forward pass's, doubled by the backward pass's when training.
func (g cnnGeometry) workFloats(train bool) int {
	kk := g.k * g.k
	n := g.h*g.w*(g.c+kk*g.c+g.f1) + g.h2*g.w2*(2*g.f1+kk*g.f1+g.f2) + 3*g.flat() + g.hidden + g.out
	if train {
		n *= 2
	}
	return n
}

func newCNNWork(g cnnGeometry, rows int, train bool, params int) *cnnWork {
	kk := g.k * g.k
	w := &cnnWork{
		x:     make([]float64, rows*g.h*g.w*g.c),
		cols1: make([]float64, rows*g.h*g.w*kk*g.c),
		z1:    make([]float64, rows*g.h*g.w*g.f1),
		p1:    make([]float64, rows*g.h2*g.w2*g.f1),
		arg1:  make([]int32, rows*g.h2*g.w2*g.f1),
		cols2: make([]float64, rows*g.h2*g.w2*kk*g.f1),
		z2:    make([]float64, rows*g.h2*g.w2*g.f2),
		p2:    make([]float64, rows*g.flat()),
		arg2:  make([]int32, rows*g.flat()),
		flat:  make([]float64, rows*g.flat()),
		hid:   make([]float64, rows*g.hidden),
		out:   make([]float64, rows*g.out),
	}
	if train {
		w.dOut = make([]float64, rows*g.out)
		w.dHid = make([]float64, rows*g.hidden)
		w.dFlat = make([]float64, rows*g.flat())
		w.dP2 = make([]float64, rows*g.flat())
		w.dZ2 = make([]float64, len(w.z2))
		w.dCols2 = make([]float64, len(w.cols2))
		w.dP1 = make([]float64, len(w.p1))
		w.dZ1 = make([]float64, len(w.z1))
		w.grad = make([]float64, params)
		w.y = make([]float64, rows)
	}
	return w
}

// setImage stores the design row of image r of a pass of rows images
// (pixels row-major, channel-last) standardised, channel-major.
func (w *cnnWork) setImage(g cnnGeometry, rows, r int, row []float64, mean, inv float64) {
	pixels := g.h * g.w
	for c := range g.c {
		dst := w.x[(c*rows+r)*pixels : (c*rows+r+1)*pixels]
		for q := range dst {
			dst[q] = (row[q*g.c+c] - mean) * inv
		}
	}
}

// general views buf as a rows×cols row-major matrix.
func general(buf []float64, rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: buf[:rows*cols]}
}

// affine sets z = a·W + b for the rows of a (a is rows×in): a dense layer.
func (l *cnnNetLayer) affine(a, z []float64, rows int) {
	for i := range rows {
		copy(z[i*l.out:(i+1)*l.out], l.b)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(a, rows, l.in), general(l.w, l.in, l.out), 1, general(z, rows, l.out))
}

// gradients sets a dense layer's weight gradient aᵀ·δ and bias gradient
// Σδ in grad, and, if dIn is not nil, dIn = δ·Wᵀ.
func (l *cnnNetLayer) gradients(a, delta []float64, rows int, grad, dIn []float64) {
	dm := general(delta, rows, l.out)
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(a, rows, l.in), dm, 0, general(grad[l.off:], l.in, l.out))
	gb := grad[l.off+l.in*l.out : l.off+(l.in+1)*l.out]
	clear(gb)
	for i := range rows {
		floats.Add(gb, delta[i*l.out:(i+1)*l.out])
	}
	if dIn != nil {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, dm, general(l.w, l.in, l.out), 0, general(dIn, rows, l.in))
	}
}

// convolve sets z = W·cols + b for a convolution layer, whose W is
// out×in (filter-major): z is out×pixels, cols in×pixels.
func (l *cnnNetLayer) convolve(cols, z []float64, pixels int) {
	for f := range l.out {
		plane := z[f*pixels : (f+1)*pixels]
		for i := range plane {
			plane[i] = l.b[f]
		}
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(l.w, l.out, l.in), general(cols, l.in, pixels), 1, general(z, l.out, pixels))
}

// convGradients sets a convolution's weight gradient δ·colsᵀ and bias
// gradient (the sum of each filter's δ) in grad, and, if dCols is not nil,
// dCols = Wᵀ·δ.
func (l *cnnNetLayer) convGradients(cols, delta []float64, pixels int, grad, dCols []float64) {
	dm := general(delta, l.out, pixels)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, dm, general(cols, l.in, pixels), 0, general(grad[l.off:], l.out, l.in))
	gb := grad[l.off+l.in*l.out : l.off+(l.in+1)*l.out]
	for f := range l.out {
		gb[f] = floats.Sum(delta[f*pixels : (f+1)*pixels])
	}
	if dCols != nil {
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(l.w, l.out, l.in), dm, 0, general(dCols, l.in, pixels))
	}
}

// im2col writes, for the c channels of rows h×w images (channel-major),
// the k·k·c × rows·h·w patch matrix: row (ch·k + u)·k + v holds, for every
// output pixel (i, j), the input at (i+u−k/2, j+v−k/2) of channel ch, zero
// outside the image.
func im2col(src []float64, rows, h, w, c, k int, cols []float64) {
	pad := k / 2
	pixels := rows * h * w
	for ch := range c {
		for u := range k {
			for v := range k {
				dst := cols[((ch*k+u)*k+v)*pixels : ((ch*k+u)*k+v+1)*pixels]
				// Output columns j whose source column j+v−pad is inside.
				jlo, jhi := max(pad-v, 0), min(w+pad-v, w)
				for r := range rows {
					img := src[(ch*rows+r)*h*w : (ch*rows+r+1)*h*w]
					for i := range h {
						out := dst[(r*h+i)*w : (r*h+i+1)*w]
						si := i + u - pad
						if si < 0 || si >= h || jlo >= jhi {
							clear(out)
							continue
						}
						clear(out[:jlo])
						copy(out[jlo:jhi], img[si*w+jlo+v-pad:si*w+jhi+v-pad])
						clear(out[jhi:])
					}
				}
			}
		}
	}
}

// col2im adds every entry of the patch matrix dCols back onto the pixel it
// was read from (the adjoint of im2col), into dst, which it clears first.
func col2im(dCols []float64, rows, h, w, c, k int, dst []float64) {
	clear(dst[:rows*h*w*c])
	pad := k / 2
	pixels := rows * h * w
	for ch := range c {
		for u := range k {
			for v := range k {
				src := dCols[((ch*k+u)*k+v)*pixels : ((ch*k+u)*k+v+1)*pixels]
				jlo, jhi := max(pad-v, 0), min(w+pad-v, w)
				if jlo >= jhi {
					continue
				}
				for r := range rows {
					img := dst[(ch*rows+r)*h*w : (ch*rows+r+1)*h*w]
					for i := range h {
						si := i + u - pad
						if si < 0 || si >= h {
							continue
						}
						in := src[(r*h+i)*w : (r*h+i+1)*w]
						floats.Add(img[si*w+jlo+v-pad:si*w+jhi+v-pad], in[jlo:jhi])
					}
				}
			}
		}
	}
}

// maxPool2 writes the maximum of every 2×2 block of planes h×w images
// into dst ((h/2)×(w/2) each) and its index in src into arg.
func maxPool2(src []float64, planes, h, w int, dst []float64, arg []int32) {
	ho, wo := h/2, w/2
	for p := range planes {
		for i := range ho {
			o := (p*ho + i) * wo
			a := (p*h + 2*i) * w // top-left corner of the first block
			for j := range wo {
				at := a + 2*j
				best, bestAt := src[at], at
				if v := src[at+1]; v > best {
					best, bestAt = v, at+1
				}
				if v := src[at+w]; v > best {
					best, bestAt = v, at+w
				}
				if v := src[at+w+1]; v > best {
					best, bestAt = v, at+w+1
				}
				dst[o+j], arg[o+j] = best, int32(bestAt)
			}
		}
	}
}

// unpool routes each pool gradient to the position of its maximum in dst
// (of size n, cleared first).
func unpool(dPool []float64, arg []int32, dst []float64, n int) {
	clear(dst[:n])
	for i, d := range dPool {
		dst[arg[i]] = d
	}
}

// flatten turns the second pool's output (F2×N×H4×W4) into the dense
// layer's rows (N×F2·H4·W4, channel-major within a row), or back with
// toPlanes.
func (g cnnGeometry) flatten(planes, rowsBuf []float64, rows int, toPlanes bool) {
	area := g.h4 * g.w4
	for f := range g.f2 {
		for r := range rows {
			p := planes[(f*rows+r)*area : (f*rows+r+1)*area]
			q := rowsBuf[r*g.flat()+f*area : r*g.flat()+(f+1)*area]
			if toPlanes {
				copy(p, q)
			} else {
				copy(q, p)
			}
		}
	}
}

// forward runs the rows images of w.x through the network, leaving the
// output layer's linear z in w.out.
func (n *cnnNet) forward(w *cnnWork, rows int) {
	g := n.g
	pixels1, pixels2 := rows*g.h*g.w, rows*g.h2*g.w2
	im2col(w.x, rows, g.h, g.w, g.c, g.k, w.cols1)
	n.layers[0].convolve(w.cols1, w.z1, pixels1)
	mlpReLU.apply(w.z1[:pixels1*g.f1])
	maxPool2(w.z1, g.f1*rows, g.h, g.w, w.p1, w.arg1)

	im2col(w.p1, rows, g.h2, g.w2, g.f1, g.k, w.cols2)
	n.layers[1].convolve(w.cols2, w.z2, pixels2)
	mlpReLU.apply(w.z2[:pixels2*g.f2])
	maxPool2(w.z2, g.f2*rows, g.h2, g.w2, w.p2, w.arg2)
	g.flatten(w.p2, w.flat, rows, false)

	n.layers[2].affine(w.flat, w.hid, rows)
	mlpReLU.apply(w.hid[:rows*g.hidden])
	n.layers[3].affine(w.hid, w.out, rows)
}

// backward computes the summed (unscaled, unpenalised) loss of rows
// images with labels w.y after forward, and its gradient into w.grad.
func (n *cnnNet) backward(w *cnnWork, rows int) {
	g := n.g
	w.loss = mlpSoftmaxOutput.lossAndDelta(w.out[:rows*g.out], w.dOut, w.y[:rows], g.out)

	n.layers[3].gradients(w.hid, w.dOut, rows, w.grad, w.dHid)
	mlpReLU.backprop(w.dHid[:rows*g.hidden], w.hid[:rows*g.hidden])
	n.layers[2].gradients(w.flat, w.dHid, rows, w.grad, w.dFlat)
	g.flatten(w.dP2, w.dFlat, rows, true)

	pixels2 := rows * g.h2 * g.w2
	unpool(w.dP2[:rows*g.flat()], w.arg2, w.dZ2, pixels2*g.f2)
	mlpReLU.backprop(w.dZ2[:pixels2*g.f2], w.z2[:pixels2*g.f2])
	n.layers[1].convGradients(w.cols2, w.dZ2, pixels2, w.grad, w.dCols2)
	col2im(w.dCols2, rows, g.h2, g.w2, g.f1, g.k, w.dP1)

	pixels1 := rows * g.h * g.w
	unpool(w.dP1[:pixels2*g.f1], w.arg1, w.dZ1, pixels1*g.f1)
	mlpReLU.backprop(w.dZ1[:pixels1*g.f1], w.z1[:pixels1*g.f1])
	n.layers[0].convGradients(w.cols1, w.dZ1, pixels1, w.grad, nil)
}

// cnnTrainer runs the batches of a fit: one work area per row segment.
type cnnTrainer struct {
	net   *cnnNet
	batch int
	work  []*cnnWork
	segs  map[int][]segment
}

func newCNNTrainer(net *cnnNet, batch int) *cnnTrainer {
	t := &cnnTrainer{net: net, batch: batch, segs: map[int][]segment{}}
	// A shorter last batch may have fewer, longer segments than a full
	// one, up to the whole batch in one.
	for range rowSegments(batch, cnnMinSegmentRows, cnnMaxSegments) {
		t.work = append(t.work, newCNNWork(net.g, batch, true, len(net.theta)))
	}
	return t
}

// gradient returns J_B and its gradient (valid until the next call) for
// the given rows of x with class labels y.
func (t *cnnTrainer) gradient(x *mat.Dense, y []float64, rows []int, alpha, mean, inv float64) (float64, []float64) {
	segs, ok := t.segs[len(rows)]
	if !ok {
		segs = rowSegments(len(rows), cnnMinSegmentRows, cnnMaxSegments)
		t.segs[len(rows)] = segs
	}
	raw := x.RawMatrix()
	p := raw.Cols
	forEachSegment(segs, func(s int, seg segment) {
		w := t.work[s]
		for r, i := range rows[seg.lo:seg.hi] {
			w.setImage(t.net.g, seg.hi-seg.lo, r, raw.Data[i*raw.Stride:i*raw.Stride+p], mean, inv)
			w.y[r] = y[i]
		}
		t.net.forward(w, seg.hi-seg.lo)
		t.net.backward(w, seg.hi-seg.lo)
	})
	grad := t.work[0].grad
	loss := t.work[0].loss
	for s := 1; s < len(segs); s++ {
		floats.Add(grad, t.work[s].grad)
		loss += t.work[s].loss
	}
	scale := 1 / float64(len(rows))
	penalty := 0.0
	for _, l := range t.net.layers {
		gw := grad[l.off : l.off+len(l.w)]
		penalty += floats.Dot(l.w, l.w)
		for i, v := range l.w {
			gw[i] = (gw[i] + alpha*v) * scale
		}
		floats.Scale(scale, grad[l.off+len(l.w):l.off+len(l.w)+l.out])
	}
	return loss*scale + 0.5*alpha*penalty*scale, grad
}

// Fit implements Estimator.
func (m *CNN) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	n, p := x.Dims()
	switch {
	case task != Classification:
		return fmt.Errorf("fit CNN: unsupported task %q", task)
	case len(y) != n:
		return fmt.Errorf("fit CNN: %d targets for %d rows", len(y), n)
	case n == 0:
		return fmt.Errorf("fit CNN: no rows")
	case nClasses < 2:
		return fmt.Errorf("fit CNN: need at least 2 classes, got %d", nClasses)
	}
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
			return fmt.Errorf("fit CNN: %s has class %v outside 0..%d", RowName(i), v, nClasses-1)
		}
	}
	h, w, c, err := m.imageShape(p)
	if err != nil {
		return err
	}
	g, err := m.geometry(h, w, c, nClasses)
	if err != nil {
		return err
	}
	mean, scale := cnnMeanAndScale(x)

	rng := newNumpyRandomState(m.Seed)
	net := newCNNNet(g, make([]float64, g.paramCount()))
	for l := range net.layers {
		layer := &net.layers[l]
		bound := math.Sqrt(6 / float64(layer.in))
		for i := range layer.w {
			layer.w[i] = rng.uniform(-bound, bound)
		}
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	var val *cnnValidation
	if m.EarlyStopping {
		var valRows []int
		if rows, valRows, err = mlpValidationSplit(y, task, nClasses, m.ValidationFraction, rng); err != nil {
			return err
		}
		val = &cnnValidation{rows: valRows}
	}
	batch := min(m.BatchSize, len(rows))
	segments := len(rowSegments(batch, cnnMinSegmentRows, cnnMaxSegments))
	if work := segments * batch * g.workFloats(true); work > cnnMaxWorkFloats {
		return inputErrorf("CNN of filters %d and %d on %d×%d×%d images with batchSize %d needs %d MiB of buffers, over the %d MiB limit; use a smaller batchSize, fewer filters or smaller images",
			g.f1, g.f2, h, w, c, batch, work*8>>20, cnnMaxWorkFloats*8>>20)
	}
	tr := newCNNTrainer(net, batch)
	adam := newAdam(len(net.theta), m.LearningRate, 0.9, 0.999, 1e-8)

	m.Height, m.Width, m.Channels, m.Classes = h, w, c, nClasses
	m.InputMean, m.InputScale = mean, scale
	m.LossCurve, m.ValidationScores = nil, nil
	inv := 1 / scale
	bestScore, noImprovement := math.Inf(-1), 0
	var bestTheta []float64
	for epoch := range m.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rng.shuffle(rows)
		total := 0.0
		for b, lo := 0, 0; lo < len(rows); b, lo = b+1, lo+batch {
			if b > 0 && b%cnnCtxBatches == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			hi := min(lo+batch, len(rows))
			loss, grad := tr.gradient(x, y, rows[lo:hi], m.Alpha, mean, inv)
			adam.update(net.theta, grad)
			total += loss * float64(hi-lo)
		}
		loss := total / float64(len(rows))
		reportProgress(ctx, epoch+1, m.Epochs, loss, true)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return inputErrorf("CNN training diverged at epoch %d (the loss is %v); try a smaller learningRate", epoch+1, loss)
		}
		m.LossCurve = append(m.LossCurve, loss)
		if val != nil {
			score := val.accuracy(net, m, x, y)
			m.ValidationScores = append(m.ValidationScores, score)
			if score > bestScore {
				bestScore, noImprovement = score, 0
				bestTheta = append(bestTheta[:0], net.theta...)
			} else if noImprovement++; noImprovement > m.NIterNoChange {
				break
			}
		}
	}
	if bestTheta != nil {
		copy(net.theta, bestTheta)
	}
	m.Iterations = len(m.LossCurve)
	layers := net.export()
	m.Conv1, m.Conv2, m.Dense, m.Output = layers[0], layers[1], layers[2], layers[3]
	for l, layer := range m.fittedLayers() {
		if err := checkFinite(fmt.Sprintf("CNN layer %d weights", l), layer.W); err != nil {
			return inputErrorf("CNN training diverged: %v; try a smaller learningRate", err)
		}
	}
	return nil
}

// cnnMeanAndScale is mlpMeanAndScale over every cell of x.
func cnnMeanAndScale(x *mat.Dense) (mean, scale float64) {
	n, p := x.Dims()
	if raw := x.RawMatrix(); raw.Stride == p {
		return mlpMeanAndScale(raw.Data[:n*p])
	}
	all := make([]float64, 0, n*p)
	for i := range n {
		all = append(all, x.RawRowView(i)...)
	}
	return mlpMeanAndScale(all)
}

// cnnValidation is the held-out set of early stopping.
type cnnValidation struct {
	rows []int
}

func (v *cnnValidation) accuracy(net *cnnNet, m *CNN, x *mat.Dense, y []float64) float64 {
	_, p := x.Dims()
	sub := mat.NewDense(len(v.rows), p, nil)
	for a, i := range v.rows {
		sub.SetRow(a, x.RawRowView(i))
	}
	z := make([]float64, len(v.rows)*net.g.out)
	net.outputs(sub, z, m.InputMean, 1/m.InputScale)
	correct := 0
	for a, i := range v.rows {
		if floats.MaxIdx(z[a*net.g.out:(a+1)*net.g.out]) == int(y[i]) {
			correct++
		}
	}
	return float64(correct) / float64(len(v.rows))
}

// outputs writes the output layer's linear z of every row of x into dst
// (rows×K), in chunks run in parallel, each with its own work area.
func (n *cnnNet) outputs(x *mat.Dense, dst []float64, mean, inv float64) {
	rows, _ := x.Dims()
	out := n.g.out
	forEachSegment(rowSegments(rows, cnnPredictChunk, maxSegments), func(_ int, seg segment) {
		w := newCNNWork(n.g, min(cnnPredictChunk, seg.hi-seg.lo), false, 0)
		for lo := seg.lo; lo < seg.hi; lo += cnnPredictChunk {
			hi := min(lo+cnnPredictChunk, seg.hi)
			for r := range hi - lo {
				w.setImage(n.g, hi-lo, r, x.RawRowView(lo+r), mean, inv)
			}
			n.forward(w, hi-lo)
			copy(dst[lo*out:hi*out], w.out[:(hi-lo)*out])
		}
	})
}

// Predict implements Estimator: the class probabilities.
func (m *CNN) Predict(x *mat.Dense, dst *mat.Dense) {
	n, _ := x.Dims()
	if n == 0 {
		return
	}
	net := m.fittedNet()
	z := make([]float64, n*m.Classes)
	net.outputs(x, z, m.InputMean, 1/m.InputScale)
	for i := range n {
		softmaxInto(dst.RawRowView(i), z[i*m.Classes:(i+1)*m.Classes])
	}
}

// checkShape implements shapeChecker.
func (m *CNN) checkShape(inputs int, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("CNN cannot serve task %q", task)
	}
	if m.Classes != nClasses {
		return fmt.Errorf("CNN has %d classes, model %d", m.Classes, nClasses)
	}
	if m.Height < cnnMinSide || m.Width < cnnMinSide || m.Channels < 1 || m.Height*m.Width*m.Channels != inputs {
		return fmt.Errorf("CNN images of %d×%d×%d do not fit %d inputs", m.Height, m.Width, m.Channels, inputs)
	}
	g, err := m.geometry(m.Height, m.Width, m.Channels, nClasses)
	if err != nil {
		return fmt.Errorf("%v", err) // stored data, not the caller's input
	}
	for l, s := range g.layerShapes() {
		layer := m.fittedLayers()[l]
		if layer.Inputs != s[0] || layer.Outputs != s[1] || len(layer.W) != s[0]*s[1] || len(layer.B) != s[1] {
			return fmt.Errorf("CNN layer %d is %d×%d with %d weights and %d biases, want %d×%d", l, layer.Inputs, layer.Outputs, len(layer.W), len(layer.B), s[0], s[1])
		}
		if err := checkFinite(fmt.Sprintf("CNN layer %d weights", l), layer.W); err != nil {
			return err
		}
		if err := checkFinite(fmt.Sprintf("CNN layer %d biases", l), layer.B); err != nil {
			return err
		}
	}
	if err := checkFinite("CNN input scaling", []float64{m.InputMean, m.InputScale}); err != nil {
		return err
	}
	if m.InputScale <= 0 {
		return fmt.Errorf("CNN input scale %v is not positive", m.InputScale)
	}
	return nil
}
