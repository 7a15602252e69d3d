package sepa

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// A validator for the part of XML Schema 1.0 that the ISO 20022 schemas
// use, so that a bank statement is checked against its schema before
// anything is written, in the process, with no C library: named complex
// types (sequence, choice, simpleContent with attributes, complexContent
// restriction restating its model), named simple types restricting the
// built-ins string, decimal, date, dateTime, boolean and gYearMonth by
// pattern, enumeration, lengths, bounds and digits, minOccurs/maxOccurs,
// and xs:any (lax: not validated). The ISO 20022 schemas are
// deterministic (the unique particle attribution rule), so a greedy match
// of the children against the content model decides. Anything outside
// that subset in a schema is an error when it loads, never a silent pass.
// The tests hold it to xmllint's verdicts.

// Schema is a loaded schema.
type Schema struct {
	ns      string
	roots   map[string]string // element name → type
	complex map[string]*node
	simple  map[string]*node
	// patterns are the schema's patterns, compiled once (a value checked
	// against a pattern compiled for it would cost a compilation per
	// value).
	patterns sync.Map // string → *regexp.Regexp
	// firsts are the names each particle can begin with, computed once.
	firsts sync.Map // *node → []string
}

// node is an element of a parsed document: its local name, namespace,
// attributes, children and text.
type node struct {
	name, ns string
	attrs    []xml.Attr
	children []*node
	text     strings.Builder
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Limits of a document read: its size, its depth and its elements.
const (
	maxDocument = 64 << 20
	maxDepth    = 64
	maxElements = 4_000_000
)

// parse reads an XML document into a tree, refusing a DOCTYPE (no entity
// of any kind is expanded), more than maxDepth levels or maxElements
// elements.
func parse(doc []byte) (*node, error) {
	if len(doc) > maxDocument {
		return nil, fmt.Errorf("the document is %d bytes, more than %d", len(doc), maxDocument)
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	var root *node
	var stack []*node
	count := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("a DOCTYPE or other directive is refused")
		case xml.StartElement:
			if count++; count > maxElements || len(stack) >= maxDepth {
				return nil, errors.New("the document is too large or too deep")
			}
			n := &node{name: t.Name.Local, ns: t.Name.Space, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// LoadSchema reads a schema of the subset.
func LoadSchema(xsd []byte) (*Schema, error) {
	root, err := parse(xsd)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s := &Schema{ns: root.attr("targetNamespace"), roots: map[string]string{}, complex: map[string]*node{}, simple: map[string]*node{}}
	for _, c := range root.children {
		switch c.name {
		case "element":
			s.roots[c.attr("name")] = c.attr("type")
		case "complexType":
			s.complex[c.attr("name")] = c
		case "simpleType":
			s.simple[c.attr("name")] = c
		case "annotation", "import":
		default:
			return nil, fmt.Errorf("schema: xs:%s is outside the subset this validator reads", c.name)
		}
	}
	return s, s.check()
}

// check resolves every type a schema names, so that a schema outside the
// subset fails when loaded rather than when a document reaches the gap.
func (s *Schema) check() error {
	var walk func(n *node) error
	walk = func(n *node) error {
		if n.name == "element" || n.name == "attribute" {
			t := n.attr("type")
			if _, ok := s.complex[t]; !ok && !s.isSimple(t) {
				return fmt.Errorf("schema: %s %q: type %q is not defined (an anonymous type is outside the subset)", n.name, n.attr("name"), t)
			}
		}
		switch n.name {
		case "complexType", "sequence", "choice", "element", "simpleContent", "complexContent", "extension", "restriction",
			"attribute", "any", "annotation", "documentation", "simpleType", "enumeration", "pattern", "minLength", "maxLength",
			"length", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive", "fractionDigits", "totalDigits":
		default:
			return fmt.Errorf("schema: xs:%s is outside the subset this validator reads", n.name)
		}
		for _, c := range n.children {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range s.complex {
		if err := walk(n); err != nil {
			return err
		}
	}
	for _, n := range s.simple {
		if err := walk(n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Schema) isSimple(t string) bool {
	_, ok := s.simple[t]
	return ok || contains(builtins, t)
}

// builtins are the built-in types the subset reads.
var builtins = []string{"xs:string", "xs:decimal", "xs:boolean", "xs:date", "xs:dateTime", "xs:gYearMonth"}

// Validate checks a document against the schema and returns every
// violation found (at most 20), each with the path of its element.
func (s *Schema) Validate(doc []byte) error {
	root, err := parse(doc)
	if err != nil {
		return err
	}
	v := &validation{s: s}
	typ, ok := s.roots[root.name]
	if !ok || root.ns != s.ns {
		return fmt.Errorf("the root element is {%s}%s, not a document of %s", root.ns, root.name, s.ns)
	}
	v.element(root, typ, "/"+root.name)
	if len(v.errs) > 0 {
		return errors.Join(v.errs...)
	}
	return nil
}

type validation struct {
	s    *Schema
	errs []error
}

func (v *validation) fail(path, format string, args ...any) {
	if len(v.errs) < 20 {
		v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
}

// element validates an element against its named type.
func (v *validation) element(n *node, typ, path string) {
	if n.ns != v.s.ns {
		v.fail(path, "namespace %q, not %q", n.ns, v.s.ns)
		return
	}
	if v.s.isSimple(typ) {
		v.noAttributes(n, path, nil)
		if len(n.children) > 0 {
			v.fail(path, "a simple value holds no element")
			return
		}
		if err := v.s.value(typ, n.text.String()); err != nil {
			v.fail(path, "%v", err)
		}
		return
	}
	ct := v.s.complex[typ]
	model := ct
	for _, c := range ct.children {
		switch c.name {
		case "simpleContent":
			v.simpleContent(n, c, path)
			return
		case "complexContent":
			model = elements(c)[0] // a restriction restates its model
		}
	}
	v.noAttributes(n, path, nil)
	if strings.TrimSpace(n.text.String()) != "" {
		v.fail(path, "text where only elements are allowed")
	}
	v.content(n, model, path)
}

// simpleContent validates a value with attributes (an amount and its
// currency): an extension of a simple type, or a restriction of such a
// complex type whose facets narrow its value.
func (v *validation) simpleContent(n *node, sc *node, path string) {
	derivation := elements(sc)[0]
	var attrs []*node
	for _, a := range derivation.children {
		if a.name == "attribute" {
			attrs = append(attrs, a)
		}
	}
	v.noAttributes(n, path, attrs)
	for _, a := range attrs {
		val, present := "", false
		for _, x := range n.attrs {
			if x.Name.Local == a.attr("name") && x.Name.Space == "" {
				val, present = x.Value, true
			}
		}
		if !present {
			if a.attr("use") == "required" {
				v.fail(path, "the attribute %s is required", a.attr("name"))
			}
			continue
		}
		if err := v.s.value(a.attr("type"), val); err != nil {
			v.fail(path+"/@"+a.attr("name"), "%v", err)
		}
	}
	if len(n.children) > 0 {
		v.fail(path, "a simple value holds no element")
		return
	}
	if err := v.s.contentValue(derivation, n.text.String()); err != nil {
		v.fail(path, "%v", err)
	}
}

// contentValue checks the value of a simple content: a restriction's
// facets, then its base's value, down to the simple type extended.
func (s *Schema) contentValue(derivation *node, val string) error {
	for depth := 0; derivation.name == "restriction"; depth++ {
		val = strings.Join(strings.Fields(val), " ")
		if err := s.facets(derivation, val); err != nil {
			return fmt.Errorf("%q: %w", val, err)
		}
		base, ok := s.complex[derivation.attr("base")]
		if !ok || depth > 16 {
			return fmt.Errorf("%s is not a type with simple content", derivation.attr("base"))
		}
		sc := elements(base)[0]
		derivation = elements(sc)[0]
	}
	return s.value(derivation.attr("base"), val)
}

// elements are a schema node's children other than annotations.
func elements(n *node) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name != "annotation" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return []*node{{name: "annotation"}}
	}
	return out
}

// noAttributes refuses an attribute the type does not declare (namespace
// declarations aside).
func (v *validation) noAttributes(n *node, path string, declared []*node) {
	for _, a := range n.attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		ok := false
		for _, d := range declared {
			ok = ok || (a.Name.Space == "" && a.Name.Local == d.attr("name"))
		}
		if !ok {
			v.fail(path, "the attribute %s is not allowed", a.Name.Local)
		}
	}
}

// content matches the children against the type's model (its sequence or
// choice).
func (v *validation) content(n *node, ct *node, path string) {
	var model *node
	for _, c := range ct.children {
		if c.name == "sequence" || c.name == "choice" {
			model = c
		}
	}
	i := 0
	if model != nil {
		var ok bool
		if i, ok = v.particle(model, n.children, 0, path); !ok {
			return
		}
	}
	if i < len(n.children) {
		v.fail(path+"/"+n.children[i].name, "not expected here")
	}
}

// particle matches one particle, repeated between its bounds, from
// children[i]; it returns the index after what it matched.
func (v *validation) particle(p *node, children []*node, i int, path string) (int, bool) {
	lo, hi := occurs(p)
	count := 0
	for hi < 0 || count < hi {
		j, matched, ok := v.once(p, children, i, path)
		if !ok {
			return i, false
		}
		if !matched || j == i {
			break // nothing more, or an empty match that would repeat for ever
		}
		i, count = j, count+1
	}
	if count < lo && !emptiable(p) {
		what := p.attr("name")
		if what == "" {
			what = "one of " + strings.Join(firstNames(p), ", ")
		}
		v.fail(path, "%s is required (at least %d), found %d", what, lo, count)
		return i, false
	}
	return i, true
}

// once matches one occurrence of a particle: matched is false when it
// cannot start at children[i].
func (v *validation) once(p *node, children []*node, i int, path string) (int, bool, bool) {
	switch p.name {
	case "element":
		if i >= len(children) || children[i].name != p.attr("name") {
			return i, false, true
		}
		c := children[i]
		v.element(c, p.attr("type"), path+"/"+c.name)
		return i + 1, true, true
	case "any":
		if i >= len(children) {
			return i, false, true
		}
		return i + 1, true, true // lax: not validated
	case "sequence":
		if i >= len(children) || !v.starts(p, children[i]) {
			return i, false, true
		}
		for _, c := range p.children {
			if c.name == "annotation" {
				continue
			}
			var ok bool
			if i, ok = v.particle(c, children, i, path); !ok {
				return i, true, false
			}
		}
		return i, true, true
	case "choice":
		for _, c := range p.children {
			if c.name != "annotation" && i < len(children) && v.starts(c, children[i]) {
				j, ok := v.particle(c, children, i, path)
				return j, true, ok
			}
		}
		return i, false, true
	}
	return i, false, true
}

// starts tells whether a particle can begin with the child.
func (v *validation) starts(p *node, child *node) bool {
	names, ok := v.s.firsts.Load(p)
	if !ok {
		names, _ = v.s.firsts.LoadOrStore(p, firstNames(p))
	}
	for _, name := range names.([]string) {
		if name == "*" || name == child.name {
			return true
		}
	}
	return false
}

// emptiable tells whether one occurrence of a sequence or choice may
// match nothing: every particle of the sequence, or one branch of the
// choice, optional or emptiable itself.
func emptiable(p *node) bool {
	if p.name != "sequence" && p.name != "choice" {
		return false
	}
	for _, c := range elements(p) {
		lo, _ := occurs(c)
		empty := lo == 0 || emptiable(c)
		if p.name == "choice" && empty {
			return true
		}
		if p.name == "sequence" && !empty {
			return false
		}
	}
	return p.name == "sequence"
}

// firstNames are the names an occurrence of a particle can begin with.
func firstNames(p *node) []string {
	switch p.name {
	case "element":
		return []string{p.attr("name")}
	case "any":
		return []string{"*"}
	case "choice":
		var out []string
		for _, c := range p.children {
			out = append(out, firstNames(c)...)
		}
		return out
	case "sequence":
		var out []string
		for _, c := range p.children {
			if c.name == "annotation" {
				continue
			}
			out = append(out, firstNames(c)...)
			if lo, _ := occurs(c); lo > 0 {
				break
			}
		}
		return out
	}
	return nil
}

// occurs returns a particle's bounds (hi -1: unbounded).
func occurs(p *node) (lo, hi int) {
	lo, hi = 1, 1
	if s := p.attr("minOccurs"); s != "" {
		lo, _ = strconv.Atoi(s)
	}
	switch s := p.attr("maxOccurs"); s {
	case "":
	case "unbounded":
		hi = -1
	default:
		hi, _ = strconv.Atoi(s)
	}
	return lo, hi
}

// value checks a simple value against a named simple type: its facets,
// then its base's, down to a built-in.
func (s *Schema) value(typ, val string) error {
	for depth := 0; ; depth++ {
		if depth > 16 {
			return fmt.Errorf("type %s: restrictions nested too deep", typ)
		}
		if strings.HasPrefix(typ, "xs:") {
			return builtin(typ, val)
		}
		st, ok := s.simple[typ]
		if !ok || len(st.children) == 0 {
			return fmt.Errorf("type %s is not defined", typ)
		}
		r := st.children[len(st.children)-1]
		if r.name != "restriction" {
			return fmt.Errorf("type %s: xs:%s is outside the subset", typ, r.name)
		}
		base := r.attr("base")
		if base != "xs:string" {
			val = strings.Join(strings.Fields(val), " ") // whiteSpace collapse
		}
		if err := s.facets(r, val); err != nil {
			return fmt.Errorf("%q is not a %s: %w", val, typ, err)
		}
		typ = base
	}
}

// facets checks a restriction's facets.
func (s *Schema) facets(r *node, val string) error {
	var enums []string
	var patterns []string
	for _, f := range r.children {
		arg := f.attr("value")
		n, _ := strconv.Atoi(arg)
		switch f.name {
		case "enumeration":
			enums = append(enums, arg)
		case "pattern":
			patterns = append(patterns, arg)
		case "length", "minLength", "maxLength":
			l := utf8.RuneCountInString(val)
			if (f.name == "length" && l != n) || (f.name == "minLength" && l < n) || (f.name == "maxLength" && l > n) {
				return fmt.Errorf("%s %d, has %d characters", f.name, n, l)
			}
		case "minInclusive", "maxInclusive", "minExclusive", "maxExclusive", "fractionDigits", "totalDigits":
			if err := numberFacet(f.name, arg, val); err != nil {
				return err
			}
		}
	}
	if len(enums) > 0 && !contains(enums, val) {
		return fmt.Errorf("not one of %s", strings.Join(enums, ", "))
	}
	if len(patterns) > 0 {
		matched := false
		for _, p := range patterns {
			re, err := s.pattern(p)
			if err != nil {
				return err
			}
			matched = matched || re.MatchString(val)
		}
		if !matched {
			return fmt.Errorf("does not match %s", strings.Join(patterns, " or "))
		}
	}
	return nil
}

// pattern returns an XSD pattern compiled, anchored as XSD anchors it.
func (s *Schema) pattern(p string) (*regexp.Regexp, error) {
	if re, ok := s.patterns.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pattern %s: %v", p, err)
	}
	s.patterns.Store(p, re)
	return re, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// numberFacet checks a numeric facet of a decimal value.
func numberFacet(facet, arg, val string) error {
	d, err := decimal.NewFromString(val)
	if err != nil {
		return fmt.Errorf("not a decimal number")
	}
	limit, _ := decimal.NewFromString(arg)
	n, _ := strconv.Atoi(arg)
	// Significant digits: the canonical form without its sign, point,
	// leading zeros of the integer part and trailing zeros of the fraction.
	canonical := d.Abs().String()
	frac := 0
	if i := strings.IndexByte(canonical, '.'); i >= 0 {
		canonical = strings.TrimRight(canonical, "0")
		frac = len(canonical) - i - 1
	}
	digits := strings.TrimLeft(strings.ReplaceAll(canonical, ".", ""), "0")
	switch {
	case facet == "minInclusive" && d.LessThan(limit), facet == "maxInclusive" && d.GreaterThan(limit),
		facet == "minExclusive" && !d.GreaterThan(limit), facet == "maxExclusive" && !d.LessThan(limit):
		return fmt.Errorf("%s %s", facet, arg)
	case facet == "fractionDigits" && frac > n:
		return fmt.Errorf("at most %d decimal places, has %d", n, frac)
	case facet == "totalDigits" && len(digits) > n:
		return fmt.Errorf("at most %d digits", n)
	}
	return nil
}

var (
	decimalLexical = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	dateLexical    = regexp.MustCompile(`^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$`)
	dateTimeLex    = regexp.MustCompile(`^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`)
	gYearMonthLex  = regexp.MustCompile(`^-?[0-9]{4,}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$`)
)

// builtin checks a value of a built-in type.
func builtin(typ, val string) error {
	if typ != "xs:string" {
		val = strings.TrimSpace(val)
	}
	switch typ {
	case "xs:string":
		return nil
	case "xs:decimal":
		if !decimalLexical.MatchString(val) {
			return fmt.Errorf("%q is not a decimal number", val)
		}
	case "xs:boolean":
		if !contains([]string{"true", "false", "1", "0"}, val) {
			return fmt.Errorf("%q is not a boolean", val)
		}
	case "xs:date":
		if !dateLexical.MatchString(val) {
			return fmt.Errorf("%q is not a date", val)
		}
		if _, err := time.Parse(time.DateOnly, val[:10]); err != nil {
			return fmt.Errorf("%q is not a date", val)
		}
	case "xs:dateTime":
		if !dateTimeLex.MatchString(val) {
			return fmt.Errorf("%q is not a date and time", val)
		}
		if _, err := time.Parse("2006-01-02T15:04:05", val[:19]); err != nil {
			return fmt.Errorf("%q is not a date and time", val)
		}
	case "xs:gYearMonth":
		if !gYearMonthLex.MatchString(val) {
			return fmt.Errorf("%q is not a year and month", val)
		}
	default:
		return fmt.Errorf("the built-in type %s is outside the subset", typ)
	}
	return nil
}
