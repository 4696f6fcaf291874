package pgdriver

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Type OIDs the decoder knows (pg_type.oid, fixed since PostgreSQL 7.x).
const (
	boolOID        = 16
	byteaOID       = 17
	int8OID        = 20
	int2OID        = 21
	int4OID        = 23
	oidOID         = 26
	xidOID         = 28
	cidOID         = 29
	jsonOID        = 114
	xmlOID         = 142
	float4OID      = 700
	float8OID      = 701
	dateOID        = 1082
	timestampOID   = 1114
	timestamptzOID = 1184
	jsonbOID       = 3802
)

// encoder turns database/sql's arguments (after its default conversion:
// nil, int64, float64, bool, string, []byte, time.Time) into the
// parameters of one statement. Text for all but []byte, which goes as
// binary: the server takes binary bytea and text as the bytes themselves,
// where the text form of bytea would need escaping. The server infers each
// parameter's type from the statement, as it does for a prepared one.
// Its buffers are reused from statement to statement of one connection.
type encoder struct {
	buf     []byte
	values  [][]byte
	formats []int16
}

func (e *encoder) encode(args []driver.NamedValue) ([][]byte, []int16, error) {
	if len(args) == 0 {
		return nil, nil, nil
	}
	e.buf = e.buf[:0]
	e.values = e.values[:0]
	e.formats = e.formats[:0]
	ends := make([]int, len(args))
	binary := false
	for i, a := range args {
		format := int16(0)
		switch v := a.Value.(type) {
		case nil:
		case string:
			e.buf = append(e.buf, v...)
		case []byte:
			format = 1
			binary = true
		case int64:
			e.buf = strconv.AppendInt(e.buf, v, 10)
		case float64:
			e.buf = appendFloat(e.buf, v)
		case bool:
			e.buf = strconv.AppendBool(e.buf, v)
		case time.Time:
			e.buf = appendTime(e.buf, v)
		default:
			return nil, nil, fmt.Errorf("pgdriver: argument $%d: cannot send a %T", i+1, a.Value)
		}
		ends[i] = len(e.buf)
		e.formats = append(e.formats, format)
	}
	start := 0
	for i, a := range args {
		switch v := a.Value.(type) {
		case nil:
			e.values = append(e.values, nil)
		case []byte:
			// A nil slice is NULL, as with pgx.
			e.values = append(e.values, v)
		default:
			e.values = append(e.values, e.buf[start:ends[i]:ends[i]])
		}
		start = ends[i]
	}
	if !binary {
		return e.values, nil, nil
	}
	return e.values, e.formats, nil
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendTime writes t with its offset, as timestamptz takes it; timestamp
// takes t's wall clock (and ignores the offset), date its day.
func appendTime(b []byte, t time.Time) []byte {
	bc := false
	if y := t.Year(); y <= 0 {
		// Year 0 is 1 BC.
		t = t.AddDate(-y*2+1, 0, 0)
		bc = true
	}
	b = t.AppendFormat(b, "2006-01-02 15:04:05.999999999Z07:00:00")
	if bc {
		b = append(b, " BC"...)
	}
	return b
}

// rows reads a result as database/sql asks for it, row by row off the
// connection.
type rows struct {
	c       *conn
	rr      *pgconn.ResultReader
	p       *pgconn.Pipeline // closed after rr, when not nil
	closed  bool
	oids    []uint32
	names   []string
	pending bool // the first row, read by QueryContext, is not yet returned
	done    bool
	err     error // the result's, once closed
}

func newRows(c *conn, rr *pgconn.ResultReader, p *pgconn.Pipeline, fields []pgconn.FieldDescription, first bool) *rows {
	r := &rows{c: c, rr: rr, p: p, pending: first, done: !first}
	r.oids = make([]uint32, len(fields))
	r.names = make([]string, len(fields))
	for i, f := range fields {
		r.oids[i] = f.DataTypeOID
		r.names[i] = f.Name
	}
	return r
}

func (r *rows) Columns() []string { return r.names }

func (r *rows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	if r.pending {
		r.pending = false
	} else if !r.rr.NextRow() {
		r.done = true
		if err := r.Close(); err != nil {
			return err
		}
		return io.EOF
	}
	for i, v := range r.rr.Values() {
		d, err := decode(r.oids[i], v)
		if err != nil {
			return fmt.Errorf("pgdriver: column %s: %w", r.names[i], err)
		}
		dest[i] = d
	}
	return nil
}

func (r *rows) Close() error {
	r.done = true
	if r.closed {
		return r.err
	}
	r.closed = true
	_, r.err = r.c.finish(r.rr, r.p)
	return r.err
}

// decode turns one text-format value of type oid into what database/sql
// scans, as pgx's adapter did: integers as int64, floats as float64, bool,
// bytea, json, jsonb and xml as []byte, dates and times as time.Time (an
// infinite one as the string "infinity" or "-infinity"), NULL as nil, and
// every other type (text, varchar, uuid, numeric…) as its text.
func decode(oid uint32, b []byte) (driver.Value, error) {
	if b == nil {
		return nil, nil
	}
	switch oid {
	case boolOID:
		switch string(b) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, fmt.Errorf("bool %q", b)
	case int2OID, int4OID, int8OID, oidOID, xidOID, cidOID:
		return strconv.ParseInt(string(b), 10, 64)
	case float4OID:
		f, err := strconv.ParseFloat(string(b), 32)
		return float64(float32(f)), err
	case float8OID:
		return strconv.ParseFloat(string(b), 64)
	case byteaOID:
		return decodeBytea(b)
	case jsonOID, jsonbOID, xmlOID:
		return append([]byte(nil), b...), nil
	case timestamptzOID:
		return decodeTime(string(b), true, true)
	case timestampOID:
		return decodeTime(string(b), true, false)
	case dateOID:
		return decodeTime(string(b), false, false)
	}
	return string(b), nil
}

// decodeBytea reads both of bytea's output forms: hex (\x…, the default)
// and escape (bytea_output = escape).
func decodeBytea(b []byte) ([]byte, error) {
	if len(b) >= 2 && b[0] == '\\' && b[1] == 'x' {
		out := make([]byte, hex.DecodedLen(len(b)-2))
		_, err := hex.Decode(out, b[2:])
		return out, err
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(b) && isOctal(b[i+1]) && isOctal(b[i+2]) && isOctal(b[i+3]):
			out = append(out, (b[i+1]-'0')<<6|(b[i+2]-'0')<<3|(b[i+3]-'0'))
			i += 3
		default:
			return nil, errors.New("bytea: bad escape")
		}
	}
	return out, nil
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// decodeTime reads DateStyle ISO's output: 2026-12-02 08:00:00.123456+00
// (timestamptz, in the session's time zone with its offset, which may
// have minutes and seconds), the same without the offset (timestamp, read
// as UTC), 2026-12-02 (date, midnight UTC); a year may have more than four
// digits and " BC" after it.
func decodeTime(s string, clock, zone bool) (any, error) {
	if s == "infinity" || s == "-infinity" {
		return s, nil
	}
	t, err := parseTime(s, clock, zone)
	if err != nil {
		return nil, fmt.Errorf("time %q: %w", s, err)
	}
	if zone {
		// pgx gave timestamptz in the local zone.
		return t.Local(), nil
	}
	return t, nil
}

var errTimeForm = errors.New("not in DateStyle ISO")

func parseTime(s string, clock, zone bool) (time.Time, error) {
	s, bc := strings.CutSuffix(s, " BC")
	date, rest, hasClock := strings.Cut(s, " ")
	if hasClock != clock {
		return time.Time{}, errTimeForm
	}
	ys, rest2, ok1 := strings.Cut(date, "-")
	ms, ds, ok2 := strings.Cut(rest2, "-")
	if !ok1 || !ok2 {
		return time.Time{}, errTimeForm
	}
	y, err1 := strconv.Atoi(ys)
	m, err2 := strconv.Atoi(ms)
	d, err3 := strconv.Atoi(ds)
	if err := errors.Join(err1, err2, err3); err != nil {
		return time.Time{}, errTimeForm
	}
	if bc {
		y = 1 - y
	}
	var hh, mm, ss, ns, offset int
	if clock {
		if zone {
			i := strings.LastIndexAny(rest, "+-")
			if i < 0 {
				return time.Time{}, errTimeForm
			}
			off, err := parseOffset(rest[i:])
			if err != nil {
				return time.Time{}, err
			}
			offset, rest = off, rest[:i]
		}
		hms, frac, _ := strings.Cut(rest, ".")
		parts := strings.Split(hms, ":")
		if len(parts) != 3 {
			return time.Time{}, errTimeForm
		}
		var errs [3]error
		hh, errs[0] = strconv.Atoi(parts[0])
		mm, errs[1] = strconv.Atoi(parts[1])
		ss, errs[2] = strconv.Atoi(parts[2])
		if errors.Join(errs[:]...) != nil || len(frac) > 9 {
			return time.Time{}, errTimeForm
		}
		if frac != "" {
			n, err := strconv.Atoi(frac + "000000000"[len(frac):])
			if err != nil {
				return time.Time{}, errTimeForm
			}
			ns = n
		}
	}
	t := time.Date(y, time.Month(m), d, hh, mm, ss, ns, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

// parseOffset reads ±hh, ±hh:mm or ±hh:mm:ss as seconds east of UTC.
func parseOffset(s string) (int, error) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	parts := strings.Split(s[1:], ":")
	if len(parts) > 3 {
		return 0, errTimeForm
	}
	secs := 0
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) != 2 {
			return 0, errTimeForm
		}
		secs += n * []int{3600, 60, 1}[i]
	}
	return sign * secs, nil
}
