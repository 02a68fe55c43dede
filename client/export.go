package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/agenttrace/agenttrace/export"
)

// EstimateExport answers the estimate of an export without creating it (a dry run).
func (c *Client) EstimateExport(ctx context.Context, req export.Request) (export.Estimate, error) {
	req.DryRun = true
	var out struct {
		Estimate export.Estimate `json:"estimate"`
	}
	err := c.Do(ctx, http.MethodPost, "/authenticated/resource-exports", req, &out)
	return out.Estimate, err
}

// CreateExport creates an export job.
func (c *Client) CreateExport(ctx context.Context, req export.Request) (export.View, error) {
	req.DryRun = false
	var v export.View
	err := c.Do(ctx, http.MethodPost, "/authenticated/resource-exports", req, &v)
	return v, err
}

// GetExport answers an export's status and progress.
func (c *Client) GetExport(ctx context.Context, id string) (export.View, error) {
	var v export.View
	err := c.Do(ctx, http.MethodGet, "/authenticated/resource-exports/"+url.PathEscape(id), nil, &v)
	return v, err
}

// ListExports answers the account's exports, newest first.
func (c *Client) ListExports(ctx context.Context) ([]export.View, error) {
	var out struct {
		Data []export.View `json:"data"`
	}
	err := c.Do(ctx, http.MethodGet, "/authenticated/resource-exports", nil, &out)
	return out.Data, err
}

// DownloadExport streams a completed export's file to w and answers its size.
// It has no overall timeout (files may be large); ctx bounds it.
func (c *Client) DownloadExport(ctx context.Context, id string, w io.Writer) (int64, error) {
	hc := *c.HTTP
	hc.Timeout = 0
	cc := *c
	cc.HTTP = &hc
	resp, err := cc.Raw(ctx, http.MethodGet, "/authenticated/resource-exports/"+url.PathEscape(id)+"/download", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("download of export %s: got %d of %d bytes", id, n, resp.ContentLength)
	}
	return n, err
}

// DownloadExportFile downloads to path.part and renames it to path once
// complete, so an interrupted download never leaves a file that looks whole.
func (c *Client) DownloadExportFile(ctx context.Context, id, path string) (int64, error) {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := c.DownloadExport(ctx, id, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, path)
	}
	if err != nil {
		os.Remove(part)
		return n, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return n, nil
}
