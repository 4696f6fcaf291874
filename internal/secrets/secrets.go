package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Suffix turns a variable's name into the name of the variable that names
// its secret: VPNGW_WEBHOOK_SECRET → VPNGW_WEBHOOK_SECRET_SECRET.
const Suffix = "_SECRET"

// Source fetches the current value of the secret called name.
type Source interface {
	Get(ctx context.Context, name string) (string, error)
}

// ErrNotFound is a secret the store does not hold (or the caller may not
// know of).
var ErrNotFound = errors.New("no such secret")

// ErrDenied is a secret the caller may not read.
var ErrDenied = errors.New("not allowed to read the secret")

// Error is a secret that could not be had: it names the variable and the
// secret, never a value.
type Error struct {
	Var    string // the X_SECRET variable
	Secret string // what it names
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s=%q: %v", e.Var, e.Secret, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Values holds what Resolve fetched, by the variable it stands for.
type Values map[string]string

// Resolve fetches, for every name in names whose name+Suffix is set, the
// secret it names. A name set both directly and through a secret is refused:
// one of the two would be ignored without a word.
func Resolve(ctx context.Context, getenv func(string) string, names []string, src Source) (Values, error) {
	out := Values{}
	var errs []error
	cache := map[string]string{} // one fetch per secret, whatever its fields
	for _, name := range names {
		ref := strings.TrimSpace(getenv(name + Suffix))
		if ref == "" {
			continue
		}
		if getenv(name) != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set: give the value in one of them, the secret's name in %s", name, name+Suffix, name+Suffix))
			continue
		}
		if src == nil {
			errs = append(errs, &Error{Var: name + Suffix, Secret: ref, Err: errors.New("no secret store here: secrets are fetched in Function Compute (KMS) and Lambda (the Parameters and Secrets extension)")})
			continue
		}
		secret, field, _ := strings.Cut(ref, "#")
		val, ok := cache[secret]
		if !ok {
			v, err := src.Get(ctx, secret)
			if err != nil {
				errs = append(errs, &Error{Var: name + Suffix, Secret: ref, Err: err})
				continue
			}
			cache[secret], val = v, v
		}
		if field != "" {
			var obj map[string]any
			if json.Unmarshal([]byte(val), &obj) != nil {
				errs = append(errs, &Error{Var: name + Suffix, Secret: ref, Err: fmt.Errorf("the secret is not a JSON object, so it has no field %q: name the secret alone", field)})
				continue
			}
			s, ok := obj[field].(string)
			if !ok {
				errs = append(errs, &Error{Var: name + Suffix, Secret: ref, Err: fmt.Errorf("the secret has no string field %q (it has %s)", field, keys(obj))})
				continue
			}
			val = s
		}
		// An empty value is an unset variable: a webhook route whose
		// secret is empty is off, as when its variable is empty.
		out[name] = val
	}
	return out, errors.Join(errs...)
}

func keys(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "none"
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// Getenv answers name from v when it holds it, else from getenv.
func (v Values) Getenv(getenv func(string) string) func(string) string {
	return func(name string) string {
		if s, ok := v[name]; ok {
			return s
		}
		return getenv(name)
	}
}
