// Package e2e holds the browser tests: a real headless Chromium
// (/usr/bin/chromium, Debian's package) drives the built page of a full
// in-process whistlegrid server on a fresh copy of the demo database.
//
// They need the frontend built (`make build`) and Chromium installed
// (`apt-get install -y chromium`); without either they fail and say so.
// Screenshots go to artifacts/ at the repository root; the README's
// (docShot) go to docs/screenshots/ when WHISTLEGRID_SCREENSHOTS=1, else
// to a temporary folder.
package e2e
