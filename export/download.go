package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/store"
)

// Download streams a completed export's file (with Range support).
func (s *Service) Download(w http.ResponseWriter, r *http.Request) {
	j, err := s.job(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	switch j.Status {
	case agenttrace.JobCompleted:
	case agenttrace.JobFailed:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.ECONFLICT, "export %s failed (%s) and has no file; create a new export", j.ID, j.Error))
		return
	case agenttrace.JobCanceled:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.ECONFLICT, "export %s was canceled and has no file", j.ID))
		return
	default:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.ECONFLICT, "export %s is %s (%d of %d runs written); download it once its status is completed",
			j.ID, j.Status, j.Progress, j.Total))
		return
	}
	var p Params
	var res Result
	_ = json.Unmarshal(j.Params, &p)
	if err := json.Unmarshal(j.Result, &res); err != nil || res.File == "" {
		api.WriteError(w, r, fmt.Errorf("export %s: no file in its result %q", j.ID, j.Result))
		return
	}
	name := res.Filename
	if name == "" {
		name = Filename(p, j.CreatedAt)
	}
	w.Header().Set("Content-Type", ContentType(p.Format, p.Gzip))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Cache-Control", "private, no-store")
	if res.Stored == storedInDatabase {
		s.downloadStored(w, r, j.ID, res)
		return
	}
	f, err := os.Open(filepath.Join(s.Dir, filepath.Base(res.File)))
	if errors.Is(err, fs.ErrNotExist) {
		msg := fmt.Sprintf("export %s: its file is gone (files are removed %s after the export)", j.ID, s.retention())
		if host, _ := os.Hostname(); res.Node != "" && res.Node != host {
			msg = fmt.Sprintf("export %s: its file is on the server replica %q, not on this one (%q); download it from that replica", j.ID, res.Node, host)
		}
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.ENOTFOUND, "%s", msg))
		return
	}
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// downloadStored streams a file kept in the database (no Range support:
// the whole file, part by part, with its length).
func (s *Service) downloadStored(w http.ResponseWriter, r *http.Request, jobID string, res Result) {
	files, ok := s.Store.(store.ExportFiles)
	if !ok {
		api.WriteError(w, r, fmt.Errorf("export %s: its file is in a database this store cannot read", jobID))
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(res.Bytes, 10))
		return
	}
	// Nothing is sent before the first part: a missing file still gets its error.
	lw := &lazyLength{w: w, length: res.Bytes}
	if err := files.ExportFile(r.Context(), jobID, lw); err != nil {
		if !lw.started {
			if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
				err = agenttrace.Errorf(agenttrace.ENOTFOUND, "export %s: its file is gone (files are removed %s after the export)", jobID, s.retention())
			}
			api.WriteError(w, r, err)
			return
		}
		s.logger().Warn("export download cut short", "job", jobID, "err", err)
	}
}

// lazyLength sets Content-Length when the first bytes are written.
type lazyLength struct {
	w       http.ResponseWriter
	length  int64
	started bool
}

func (l *lazyLength) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Length", strconv.FormatInt(l.length, 10))
	}
	return l.w.Write(p)
}

// storeFile moves a finished file into the database (one transaction) and
// removes the local copy.
func (s *Service) storeFile(ctx context.Context, jobID, path string) error {
	files, ok := s.Store.(store.ExportFiles)
	if !ok {
		return fmt.Errorf("export %s: shared export files need a store with store.ExportFiles", jobID)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer f.Close()
	_, err = files.PutExportFile(ctx, jobID, bufio.NewReaderSize(f, 1<<20))
	return err
}
