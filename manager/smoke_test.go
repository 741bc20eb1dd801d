package manager_test

import (
	"errors"
	"testing"

	"github.com/bitsemu/bitsemu/hresult"
	"github.com/bitsemu/bitsemu/job"
	"github.com/bitsemu/bitsemu/manager"
	"github.com/bitsemu/bitsemu/state"
)

func TestSmoke(t *testing.T) {
	m := manager.New()
	c, err := m.Connect(manager.Identity{SID: "S-1-5-21-1"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.CreateJob("x", job.Download)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Resume(); !errors.Is(err, hresult.BG_E_EMPTY) {
		t.Fatalf("resume empty: %v", err)
	}
	dir := t.TempDir()
	if err := j.AddFile("http://example.com/a", dir+"/a"); err != nil {
		t.Fatal(err)
	}
	if err := j.Resume(); err != nil {
		t.Fatal(err)
	}
	st, _ := j.GetState()
	if st != state.Queued {
		t.Fatal(st)
	}
	code, err := j.Cancel()
	t.Log(code, err)
	_, err = j.Cancel()
	t.Log(err)
	if _, err := c.GetJob(j.ID()); !errors.Is(err, hresult.BG_E_NOT_FOUND) {
		t.Fatal(err)
	}
}
