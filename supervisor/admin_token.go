package supervisor

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvAdminTokenDir, when set, is the directory of the admin token files
// ([AdminTokenFile]) instead of the default.
const EnvAdminTokenDir = "WARREN_ADMIN_TOKEN_DIR"

// adminTokenBytes is how much randomness a generated admin token holds.
const adminTokenBytes = 32

// adminTokenMax bounds a token given by WithAdminToken or read from a file.
const adminTokenMax = 512

// AdminTokenDir is the directory [Tree.ServeAdmin] writes its token file
// in: $WARREN_ADMIN_TOKEN_DIR when set, else $XDG_RUNTIME_DIR/warren (a
// directory only its user can enter), else warren-<uid> in the system's
// temporary directory. ServeAdmin creates it with mode 0700 and refuses one
// that another user owns or others may enter.
func AdminTokenDir() string {
	if d := os.Getenv(EnvAdminTokenDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "warren")
	}
	return filepath.Join(os.TempDir(), "warren-"+strconv.Itoa(os.Getuid()))
}

// AdminTokenFile is the file holding the write token of the admin API
// serving on addr (host:port, as [Tree.ServeAdmin] returns it; localhost
// and an empty host mean 127.0.0.1), inside [AdminTokenDir]. The CLI reads
// it for `--admin addr`.
func AdminTokenFile(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if host == "" || strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, host+"_"+port)
	return filepath.Join(AdminTokenDir(), "admin-"+name+".token")
}

// WithAdminToken sets the bearer token the admin API's writes need
// (Authorization: Bearer TOKEN), instead of one [Tree.ServeAdmin]
// generates. It must be 16 to 512 printable ASCII bytes without spaces.
// Either way the token is written to [AdminTokenFile]. Defaults to 32
// random bytes from crypto/rand, hex-encoded.
func WithAdminToken(token string) AdminOption {
	return func(o *adminOptions) error {
		if err := checkAdminToken(token); err != nil {
			return err
		}
		o.token = token
		return nil
	}
}

// checkAdminToken refuses a token too short, too long or that an HTTP
// header cannot carry; it never quotes the token.
func checkAdminToken(token string) error {
	if len(token) < 16 || len(token) > adminTokenMax {
		return fmt.Errorf("warren: admin API token: %d bytes: need 16 to %d", len(token), adminTokenMax)
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return errors.New("warren: admin API token: holds a space, a control or a non-ASCII byte")
		}
	}
	return nil
}

// NewAdminToken returns a fresh admin token: 32 bytes from crypto/rand,
// hex-encoded, what [Tree.ServeAdmin] generates when given none. A process
// that must remove the token file itself before it exits (the server
// removes it once stopped, which may be after) makes the token with it,
// serves with [WithAdminToken] and calls [RemoveAdminToken] at the end.
func NewAdminToken() (string, error) {
	b := make([]byte, adminTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("warren: admin API token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeAdminToken writes token to file, readable by its user only, in a
// directory only its user may enter (created 0700 when missing). It
// replaces an older file through a rename, so no reader sees half a token.
func writeAdminToken(file, token string) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("warren: admin API token directory: %w", err)
	}
	if err := checkTokenDir(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return fmt.Errorf("warren: admin API token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; else the leftover
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("warren: admin API token file: %w", err)
	}
	if _, err := tmp.WriteString(token + "\n"); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("warren: admin API token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("warren: admin API token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("warren: admin API token file: %w", err)
	}
	return nil
}

// checkTokenDir refuses a token directory that is a symlink, another
// user's, or open to others (group or world may enter or write it).
func checkTokenDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("warren: admin API token directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("warren: admin API token directory %s: not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("warren: admin API token directory %s: mode %v lets others in: want 0700", dir, fi.Mode().Perm())
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("warren: admin API token directory %s: owned by uid %d, not this user", dir, uid)
	}
	return nil
}

// ReadAdminToken reads a token file as [Tree.ServeAdmin] writes it (or as
// an operator writes it for --admin-token-file): the first line, spaces
// trimmed. Its errors never quote the file's content.
func ReadAdminToken(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, adminTokenMax+2)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return "", fmt.Errorf("reading %s: %w", file, err)
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	token := strings.TrimSpace(line)
	if err := checkAdminToken(token); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return token, nil
}

// RemoveAdminToken removes the token file of the admin API served on addr
// if it still holds token (a newer server on the same address may have
// replaced it).
func RemoveAdminToken(addr, token string) {
	removeAdminToken(AdminTokenFile(addr), token)
}

// removeAdminToken removes file if it still holds token.
func removeAdminToken(file, token string) {
	got, err := ReadAdminToken(file)
	if err == nil && got == token {
		_ = os.Remove(file)
	}
}

// bearerOK tells whether req carries "Authorization: Bearer token",
// comparing in constant time.
func bearerOK(req *http.Request, token string) bool {
	if token == "" {
		return false
	}
	scheme, got, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// adminTokenFor returns the writes' token (given, else generated) and
// writes it to the token file of addr.
func adminTokenFor(given, addr string) (token, file string, err error) {
	token = given
	if token == "" {
		if token, err = NewAdminToken(); err != nil {
			return "", "", err
		}
	}
	file = AdminTokenFile(addr)
	if err := writeAdminToken(file, token); err != nil {
		return "", "", err
	}
	return token, file, nil
}
