// Command modalities measures text, image and speech models end to end
// through the GraphQL API, on the full datasets: it builds the server,
// starts it on a free 127.0.0.1 port with a new SQLite database, uploads
// each dataset (a CSV or a zip of labelled files), trains the models on
// the dataset's own train/test split, waits for them, and predicts the
// test files of the media datasets over HTTP in batches. It prints each
// step's time and each model's test accuracy, macro F1 and training time.
//
//	go run ./bench/text/fortunes -out testdata/fortunes.csv        # already in the repository
//	go run ./bench/fashion/makezip -out /tmp/fashion-mnist.zip     # needs dataset-fashion-mnist
//	go run ./bench/speech/digits -out /tmp/spoken-digits.zip       # needs espeak-ng
//	go run ./bench/modalities                                      # all three; -only text|images|audio
//
// A dataset whose file is missing is skipped with a note.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"mlgraph/internal/childserver"
	"mlgraph/internal/gqlclient"
)

// model is one training of a benchmark.
type model struct {
	Algorithm string         `json:"algorithm"`
	Params    map[string]any `json:"params,omitempty"`
}

// modality is one dataset and the models trained on it.
type modality struct {
	name, file, upload, predict string
	models                      []model
	// features limits the features (text: the text column).
	features []string
}

func modalities(text, images, audio string) []modality {
	return []modality{
		{name: "text", file: text, upload: "uploadDataset", features: []string{"text"}, models: []model{
			{"NAIVE_BAYES", map[string]any{"alpha": 0.1}},
			{"LOGISTIC_REGRESSION", map[string]any{"C": 10}},
			{"LINEAR_SVM", nil},
		}},
		{name: "images", file: images, upload: "uploadImageDataset", predict: "predictImage", models: []model{
			// bench/fashion's choice, by validation score: see its README.
			{"MLP", map[string]any{"hiddenLayerSizes": "256", "alpha": 0.1, "earlyStopping": true, "nIterNoChange": 20}},
			{"CNN", nil},
		}},
		{name: "audio", file: audio, upload: "uploadAudioDataset", predict: "predictAudio", models: []model{
			{"LOGISTIC_REGRESSION", nil},
			{"MLP", nil},
			{"SVM", nil},
		}},
	}
}

func main() {
	text := flag.String("text", "testdata/fortunes.csv", "the fortunes topics CSV (text, split, target)")
	images := flag.String("images", "/tmp/fashion-mnist.zip", "a zip of labelled images with train/ and test/ folders")
	audio := flag.String("audio", "/tmp/spoken-digits.zip", "a zip of labelled WAV recordings with train/ and test/ folders")
	only := flag.String("only", "", "run one modality: text, images or audio")
	predictBatch := flag.Int("predict-batch", 100, "files per predict request")
	flag.Parse()
	if err := run(*only, *predictBatch, modalities(*text, *images, *audio)); err != nil {
		fmt.Fprintln(os.Stderr, "modalities:", err)
		os.Exit(1)
	}
}

func run(only string, batch int, all []modality) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mlgraph-modalities-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := childserver.Build(ctx, dir)
	if err != nil {
		return err
	}
	srv, err := childserver.Start(filepath.Join(dir, "server.log"), func(addr string) *exec.Cmd {
		return exec.Command(bin, "-addr", addr, "-db", filepath.Join(dir, "bench.db"), "-auth=off", "-workers", "1",
			"-request-timeout", "10m", "-max-upload", "2GiB")
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	c := &client{gql: gqlclient.New(srv.URL + "/query"), pid: srv.PID()}
	if err := srv.WaitHealthy(ctx, c.gql.HTTP, time.Minute); err != nil {
		return fmt.Errorf("%w\n%s", err, srv.LogTail(20))
	}
	for _, m := range all {
		if only != "" && only != m.name {
			continue
		}
		if _, err := os.Stat(m.file); err != nil {
			fmt.Printf("%s: skipped (%v)\n\n", m.name, err)
			continue
		}
		if err := c.bench(m, batch); err != nil {
			return fmt.Errorf("%s: %w\n%s", m.name, err, srv.LogTail(20))
		}
	}
	return nil
}

type client struct {
	gql *gqlclient.Client
	pid int // the server's, for its memory
}

// do sends a request without files.
func (c *client) do(query string, vars map[string]any, dst any) error {
	return c.gql.Do(context.Background(), query, vars, dst)
}

// peakMemory is the server's peak resident memory so far, for the report.
func (c *client) peakMemory() string {
	_, peak, err := childserver.Memory(c.pid)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.0f MB", float64(peak)/1e6)
}

func (c *client) bench(m modality, batch int) error {
	content, err := os.ReadFile(m.file)
	if err != nil {
		return err
	}
	start := time.Now()
	var up struct {
		Dataset struct {
			ID       string
			RowCount int
			Columns  []struct{ Name string }
		}
	}
	q := fmt.Sprintf(`mutation($file: Upload!) { dataset: %s(name: %q, file: $file) { id rowCount columns { name } } }`, m.upload, m.name)
	if err := c.gql.Upload(context.Background(), q, map[string]any{"file": nil}, []gqlclient.File{{Variable: "file", Name: filepath.Base(m.file), Content: content}}, &up); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Printf("%s: %s (%.1f MB): %d rows, %d columns, uploaded in %.2f s (server peak RSS so far %s)\n", m.name, filepath.Base(m.file),
		float64(len(content))/1e6, up.Dataset.RowCount, len(up.Dataset.Columns), time.Since(start).Seconds(), c.peakMemory())

	fmt.Printf("  %-22s %-52s %9s %9s %10s %9s\n", "algorithm", "params", "accuracy", "macro F1", "train s", "wall s")
	var ids []string
	for _, spec := range m.models {
		input := map[string]any{"datasetId": up.Dataset.ID, "target": "target", "algorithm": spec.Algorithm,
			"params": spec.Params, "split": map[string]any{"method": "CUSTOM", "column": "split"}}
		if m.upload != "uploadDataset" {
			input["target"] = "label"
		}
		if m.features != nil {
			input["features"] = m.features
		}
		began := time.Now()
		var trained struct{ TrainModel struct{ ID string } }
		if err := c.do(`mutation($input: TrainModelInput!) { trainModel(input: $input) { id } }`, map[string]any{"input": input}, &trained); err != nil {
			return fmt.Errorf("train %s: %w", spec.Algorithm, err)
		}
		done, err := c.wait(trained.TrainModel.ID)
		if err != nil {
			return fmt.Errorf("train %s: %w", spec.Algorithm, err)
		}
		params, _ := json.Marshal(spec.Params)
		fmt.Printf("  %-22s %-52s %9.4f %9.4f %10.2f %9.1f\n", spec.Algorithm, params, done.Metrics.Accuracy, done.Metrics.F1,
			float64(done.TrainingTimeMs)/1000, time.Since(began).Seconds())
		ids = append(ids, done.ID)
	}
	fmt.Printf("  server peak RSS so far: %s\n", c.peakMemory())
	if m.predict == "" || len(ids) == 0 {
		fmt.Println()
		return nil
	}
	return c.predictTestFiles(m, content, ids[0], batch)
}

// trainedModel is what the benchmark reads of a finished model.
type trainedModel struct {
	ID, Status     string
	Error          *string
	TrainingTimeMs int64
	Metrics        struct{ Accuracy, F1 float64 }
}

// wait polls a model until it is no longer queued or training.
func (c *client) wait(id string) (*trainedModel, error) {
	for {
		var out struct{ Model trainedModel }
		if err := c.do(`query($id: ID!) { model(id: $id) { id status error trainingTimeMs metrics { accuracy f1 } } }`, map[string]any{"id": id}, &out); err != nil {
			return nil, err
		}
		switch out.Model.Status {
		case "READY":
			return &out.Model, nil
		case "FAILED", "CANCELLED":
			return nil, fmt.Errorf("model %s %s: %v", id, out.Model.Status, *out.Model.Error)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// predictTestFiles predicts the zip's test files with the model, batch
// files a request, and checks that they score the model's test accuracy.
func (c *client) predictTestFiles(m modality, zipped []byte, modelID string, batch int) error {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return err
	}
	var files []gqlclient.File
	var labels []string
	for _, f := range zr.File {
		parts := strings.Split(f.Name, "/")
		if f.FileInfo().IsDir() || len(parts) != 3 || parts[0] != "test" {
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		files = append(files, gqlclient.File{Name: path.Base(f.Name), Content: body})
		labels = append(labels, parts[1])
	}
	right, start := 0, time.Now()
	q := fmt.Sprintf(`mutation($m: ID!, $files: [Upload!]) { p: %s(modelId: $m, files: $files, save: false) { labels } }`, m.predict)
	for lo := 0; lo < len(files); lo += batch {
		hi := min(lo+batch, len(files))
		vars := map[string]any{"m": modelID, "files": make([]any, hi-lo)}
		sent := make([]gqlclient.File, hi-lo)
		for i := range sent {
			sent[i] = files[lo+i]
			sent[i].Variable = fmt.Sprintf("files.%d", i)
		}
		var out struct{ P struct{ Labels []string } }
		if err := c.gql.Upload(context.Background(), q, vars, sent, &out); err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		for i, l := range out.P.Labels {
			if l == labels[lo+i] {
				right++
			}
		}
	}
	took := time.Since(start).Seconds()
	fmt.Printf("  %s of the %d test files, %d a request: %.2f s (%.0f files/s), accuracy %.4f\n\n", m.predict, len(files), batch,
		took, float64(len(files))/took, float64(right)/float64(len(files)))
	return nil
}
