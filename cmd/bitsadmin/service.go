package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/bitsemu/bitsemu/service"
	"github.com/bitsemu/bitsemu/service/client"
)

// shutdownWait is how long /SHUTDOWN waits for the service to let the store go.
const shutdownWait = 30 * time.Second

// verbService is /SERVICE: with /FOREGROUND, run the store's service in this process until
// SIGTERM, Ctrl-C or /SHUTDOWN (for systemd, launchd, containers, or a client starting it);
// without, start it in the background unless it runs, and say which process it is.
func verbService(c *cli, _ *session, a *args) error {
	dir, err := c.storeDir()
	if err != nil {
		return err
	}
	if a.flag("foreground") {
		err := service.Run(c.ctx, service.Config{Dir: dir, AllUsers: a.flag("allusers"), Logger: nil})
		if err != nil {
			return fmt.Errorf("the service on %s: %w", dir, err)
		}
		return nil
	}
	var extra []string
	if a.flag("allusers") {
		extra = append(extra, "/allusers") // for a service this starts; one that runs keeps its mode
	}
	s, err := c.open(extra...)
	if err != nil {
		return err
	}
	defer s.close()
	if c.json {
		return c.printJSON(struct {
			Store string `json:"store"`
			PID   int    `json:"pid"`
		}{dir, s.client.ServicePID()})
	}
	fmt.Fprintf(c.stdout, "The service of %s runs (pid %d).\n", dir, s.client.ServicePID())
	return nil
}

// verbShutdown is /SHUTDOWN: stop the store's service and wait until it has let the store go.
func verbShutdown(c *cli, _ *session, _ *args) error {
	dir, err := c.storeDir()
	if err != nil {
		return err
	}
	pid, err := client.Shutdown(dir, shutdownWait)
	if err != nil {
		if errors.Is(err, client.ErrNoService) {
			pid = 0
		} else {
			return failed("stop the service of "+dir, err)
		}
	}
	switch {
	case c.json:
		return c.printJSON(struct {
			Store   string `json:"store"`
			PID     int    `json:"pid"`
			Stopped bool   `json:"stopped"`
		}{dir, pid, pid != 0})
	case pid == 0:
		fmt.Fprintf(c.stdout, "No service runs on %s.\n", dir)
	default:
		fmt.Fprintf(c.stdout, "The service of %s (pid %d) stopped.\n", dir, pid)
	}
	return nil
}

// bitsadminVersion is the version of Microsoft's bitsadmin whose verbs and output this one
// follows.
const bitsadminVersion = "3.0"

// verbVersion is /VERSION: this program's version (the module's, when it was built from one),
// the protocol it speaks with the service, and the store's service if one runs. It starts none.
func verbVersion(c *cli, _ *session, _ *args) error {
	dir, err := c.storeDir()
	if err != nil {
		return err
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	pid := 0
	if m, err := client.Dial(client.Socket(dir)); err == nil {
		pid = m.ServicePID()
		_ = m.Close()
	}
	if c.json {
		var p *int
		if pid != 0 {
			p = &pid
		}
		return c.printJSON(struct {
			Bitsadmin  string `json:"bitsadmin"`
			Bitsemu    string `json:"bitsemu"`
			Protocol   uint32 `json:"protocol"`
			Store      string `json:"store"`
			ServicePID *int   `json:"service_pid"`
		}{bitsadminVersion, version, client.ProtocolVersion, dir, p})
	}
	if c.raw {
		fmt.Fprint(c.stdout, version)
		return nil
	}
	fmt.Fprintf(c.stdout, "BITSADMIN version %s (bitsemu %s), service protocol %d\n", bitsadminVersion, version, client.ProtocolVersion)
	if pid != 0 {
		fmt.Fprintf(c.stdout, "The service of %s runs (pid %d).\n", dir, pid)
	} else {
		fmt.Fprintf(c.stdout, "No service runs on %s.\n", dir)
	}
	return nil
}
