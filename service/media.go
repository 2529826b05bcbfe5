package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"

	"mlgraph/internal/apperr"
	"mlgraph/internal/audio"
	"mlgraph/internal/images"
	"mlgraph/internal/labelzip"
	"mlgraph/ml"
	"mlgraph/store"
)

// zipLimits bound what a media zip may unpack to: a zip of a few MB can
// claim (or hold) terabytes.
var zipLimits = labelzip.Options{MaxFiles: 500_000, MaxFileSize: 64 << 20, MaxTotalSize: 8 << 30}

// maxRecordingSeconds bounds one recording of an audio dataset or
// prediction.
const maxRecordingSeconds = 600

// Media kinds: what a media dataset's rows were made from.
const (
	MediaImage = "IMAGE"
	MediaAudio = "AUDIO"
)

// The columns a media dataset has besides its features.
const (
	LabelColumn = "label"
	SplitColumn = "split"
)

// Media says how a media dataset's files became feature rows. It is saved
// with the dataset and with every model trained on it, so that a file to
// predict becomes features exactly as the training files did.
type Media struct {
	Kind  string          `json:"kind"`
	Image *images.Options `json:"image,omitempty"`
	Audio *ml.MFCCOptions `json:"audio,omitempty"`
	// Files is how many files the dataset was made from.
	Files int `json:"files"`
}

// hasMedia reports whether a dataset's or model's Media is set: whether it
// was made from files.
func hasMedia(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// DecodeMedia reads a dataset's or model's Media; nil for tables.
func DecodeMedia(raw json.RawMessage) (*Media, error) {
	if !hasMedia(raw) {
		return nil, nil
	}
	var m Media
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode media: %w", err)
	}
	if (m.Kind == MediaImage) != (m.Image != nil) || (m.Kind == MediaAudio) != (m.Audio != nil) {
		return nil, fmt.Errorf("decode media: kind %q without its options", m.Kind)
	}
	return &m, nil
}

// featureNames names the feature columns, in the order features fills them.
func (m *Media) featureNames() []string {
	if m.Kind == MediaImage {
		return images.FeatureNames(*m.Image)
	}
	return ml.MFCCFeatureNames(*m.Audio)
}

// features converts one file into its feature values.
func (m *Media) features(r io.Reader) ([]float64, error) {
	if m.Kind == MediaImage {
		return images.Decode(r, *m.Image)
	}
	samples, rate, err := audio.Decode(r)
	if err != nil {
		return nil, err
	}
	// Resampling a long recording at a low rate up to the MFCC rate would
	// multiply its size: the length is bounded in seconds, not samples.
	if seconds := float64(len(samples)) / float64(rate); seconds > maxRecordingSeconds {
		return nil, fmt.Errorf("%w: the recording lasts %.0f s; the limit is %d s", audio.ErrTooLong, seconds, maxRecordingSeconds)
	}
	return ml.MFCCFeatures(samples, rate, *m.Audio)
}

// badFile reports a file the caller sent that could not be converted: a
// caller's mistake, except for an internal failure of the conversion.
func badFile(name string, err error) error {
	var zipped *labelzip.Error
	if errors.As(err, &zipped) {
		return err // it names the file already
	}
	var input *ml.InputError
	if apperr.CodeOf(err) == apperr.BadInput || errors.Is(err, audio.ErrMalformed) ||
		errors.Is(err, audio.ErrUnsupported) || errors.Is(err, audio.ErrTooLong) || errors.As(err, &input) {
		return apperr.BadInputf("%s: %v", name, err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// UploadImageDataset stores a zip of labelled images (see labelzip) as a
// dataset of pixel columns, a label column and, if the zip has train and
// test folders, a split column.
func (s *Service) UploadImageDataset(ctx context.Context, name string, r io.ReaderAt, size int64, opt images.Options) (*store.Dataset, error) {
	opt, err := opt.Resolve()
	if err != nil {
		return nil, apperr.BadInputf("options: %v", err)
	}
	return s.uploadMediaDataset(ctx, name, r, size, &Media{Kind: MediaImage, Image: &opt})
}

// UploadAudioDataset stores a zip of labelled WAV recordings as a dataset of
// pooled MFCC features, as UploadImageDataset does for images.
func (s *Service) UploadAudioDataset(ctx context.Context, name string, r io.ReaderAt, size int64) (*store.Dataset, error) {
	opt, err := ml.MFCCOptions{}.Resolve()
	if err != nil {
		return nil, err
	}
	return s.uploadMediaDataset(ctx, name, r, size, &Media{Kind: MediaAudio, Audio: &opt})
}

func (s *Service) uploadMediaDataset(ctx context.Context, name string, r io.ReaderAt, size int64, media *Media) (*store.Dataset, error) {
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	entries, err := labelzip.Read(r, size, zipLimits)
	if err != nil {
		return nil, err
	}
	names := media.featureNames()
	// The features are held in memory while they are stored, and trained
	// on later: bounded as a model's design matrix is.
	if len(entries) > ml.DefaultMaxDesignCells/len(names) {
		return nil, apperr.BadInputf("%d files × %d features each would be %.1f GB; the limit is %.1f GB: use fewer files, a smaller size or GRAYSCALE",
			len(entries), len(names), float64(len(entries))*float64(len(names))*8/1e9, float64(ml.DefaultMaxDesignCells)*8/1e9)
	}
	features := make([]*ml.Column, len(names))
	for j, n := range names {
		features[j] = ml.NewNumeric(n, make([]float64, len(entries)))
	}
	// Files are converted on all cores; each writes its own row.
	err = labelzip.Each(entries, runtime.GOMAXPROCS(0), func(i int, e labelzip.Entry, body io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		values, err := media.features(body)
		if err != nil {
			return badFile(e.Path, err)
		}
		if len(values) != len(features) {
			return fmt.Errorf("%s: %d features, want %d", e.Path, len(values), len(features))
		}
		for j, v := range values {
			features[j].Num[i] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	media.Files = len(entries)
	cols := append(features, labelColumns(entries)...)
	raw, err := json.Marshal(media)
	if err != nil {
		return nil, fmt.Errorf("encode media: %w", err)
	}
	return s.saveDataset(ctx, &store.Dataset{Name: name, Media: raw}, cols)
}

// labelColumns returns the label column of the entries and, when the zip
// has train and test folders, the split column.
func labelColumns(entries []labelzip.Entry) []*ml.Column {
	labels := make([]string, len(entries))
	splits := make([]string, len(entries))
	hasSplit := false
	for i, e := range entries {
		labels[i], splits[i] = e.Label, e.Split
		hasSplit = hasSplit || e.Split != ""
	}
	cols := []*ml.Column{ml.NewStringColumn(LabelColumn, ml.Categorical, labels)}
	if hasSplit {
		cols = append(cols, ml.NewStringColumn(SplitColumn, ml.Categorical, splits))
	}
	return cols
}

// File is one uploaded file to predict.
type File struct {
	Name string
	Body io.Reader
}

// PredictFiles predicts the label of each file with a READY model trained
// on a media dataset of the given kind.
func (s *Service) PredictFiles(ctx context.Context, modelID, kind string, files []File, save bool) (*Prediction, error) {
	id, err := ParseID("model", modelID)
	if err != nil {
		return nil, err
	}
	m, err := s.models.get(ctx, id)
	if err != nil {
		return nil, err
	}
	media := m.media
	if media == nil || media.Kind != kind {
		what := "a table"
		if media != nil {
			what = "an " + media.Kind + " dataset"
		}
		return nil, apperr.BadInputf("model %d was trained on %s, not on an %s dataset", id, what, kind)
	}
	if err := s.checkRowCount(len(files)); err != nil {
		return nil, err
	}
	cols, err := mediaColumns(m.fitted, media, files)
	if err != nil {
		return nil, err
	}
	inputs := make([]any, len(files))
	for i, f := range files {
		inputs[i] = map[string]any{"file": f.Name}
	}
	return s.predictColumns(ctx, id, m, cols, inputs, save)
}

// mediaColumns converts the files, in parallel, into the model's feature
// columns.
func mediaColumns(m *ml.Model, media *Media, files []File) ([]*ml.Column, error) {
	names := media.featureNames()
	index := make(map[string]int, len(names))
	for j, n := range names {
		index[n] = j
	}
	cols := make([]*ml.Column, len(m.Features))
	from := make([]int, len(m.Features))
	for j, f := range m.Features {
		at, ok := index[f.Name]
		if !ok {
			return nil, fmt.Errorf("model feature %q is not made from %s files", f.Name, media.Kind)
		}
		from[j] = at
		cols[j] = ml.NewNumeric(f.Name, make([]float64, len(files)))
	}
	errs := make([]error, len(files))
	inParallel(len(files), runtime.GOMAXPROCS(0), func(i int) {
		values, err := media.features(files[i].Body)
		if err != nil {
			errs[i] = badFile(files[i].Name, err)
			return
		}
		for j, at := range from {
			cols[j].Num[i] = values[at]
		}
	})()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first file's in order, as one sends them
		}
	}
	return cols, nil
}
