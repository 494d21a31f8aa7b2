// Command podsecurity judges the pod templates in Kubernetes manifests with
// the Pod Security admission plugin's own code (k8s.io/pod-security-admission):
// its check registry decides, its pod-spec extractor finds the pod template of
// each workload kind, and the Kubernetes API types decode the objects (strict:
// an unknown or duplicate field is an input error, as `kubectl apply` makes it).
//
//	podsecurity [--level restricted|baseline] FILE... ('-' reads stdin)
//
// One JSON line per object on stdout:
//
//	{"file","document","apiVersion","kind","namespace","name","podTemplate","allowed","violations":[{"check","reason","detail"}]}
//
// `check` is the upstream check ID (privileged, runAsNonRoot,
// seccompProfile_restricted, ...). Objects without a pod template are listed
// with "podTemplate": false. The policy version is `latest`. No defaulting is
// applied: the objects are judged as written. For a workload kind the plugin
// only warns when the object is created and denies the pods the controller
// then creates; "allowed" is that verdict on the pod template.
//
// Exit codes: 0 every pod template allowed, 1 one or more denied, 2 usage or
// unreadable/undecodable input (the file and document are named). A summary
// line goes to stderr.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/pod-security-admission/admission"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

const usage = "usage: podsecurity [--level restricted|baseline] FILE... ('-' reads standard input)"

// maxInput bounds one input file; rendered manifests are far smaller.
const maxInput = 64 << 20

type violation struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type result struct {
	File        string      `json:"file"`
	Document    int         `json:"document"`
	APIVersion  string      `json:"apiVersion"`
	Kind        string      `json:"kind"`
	Namespace   string      `json:"namespace,omitempty"`
	Name        string      `json:"name"`
	PodTemplate bool        `json:"podTemplate"`
	Allowed     bool        `json:"allowed"`
	Violations  []violation `json:"violations"`
}

// inputError names where the input could not be read or decoded.
type inputError struct {
	file string
	doc  int // 1-based; 0 for the whole file
	err  error
}

func (e *inputError) Error() string {
	if e.doc == 0 {
		return fmt.Sprintf("%s: %v", e.file, e.err)
	}
	return fmt.Sprintf("%s: document %d: %v", e.file, e.doc, e.err)
}

// recorded is one check's result, attributed to its ID.
type recorded struct {
	id     policy.CheckID
	result policy.CheckResult
}

// checker evaluates pods with the upstream registry. Every check function is
// wrapped so that its result is recorded with the check's ID; the registry
// still picks the checks for the level and version (overrides included).
type checker struct {
	level     api.LevelVersion
	evaluator policy.Evaluator
	extractor admission.DefaultPodSpecExtractor
	decoder   runtime.Decoder
	scheme    *runtime.Scheme
	log       []recorded
}

func newChecker(level api.Level) (*checker, error) {
	c := &checker{level: api.LevelVersion{Level: level, Version: api.LatestVersion()}}
	checks := policy.DefaultChecks()
	for i := range checks {
		id := checks[i].ID
		for j := range checks[i].Versions {
			fn := checks[i].Versions[j].CheckPod
			checks[i].Versions[j].CheckPod = func(m *metav1.ObjectMeta, s *corev1.PodSpec) policy.CheckResult {
				r := fn(m, s)
				c.log = append(c.log, recorded{id, r})
				return r
			}
		}
	}
	ev, err := policy.NewEvaluator(checks, nil)
	if err != nil {
		return nil, err
	}
	c.evaluator = ev
	c.scheme = runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(c.scheme); err != nil {
			return nil, err
		}
	}
	c.decoder = serializer.NewCodecFactory(c.scheme, serializer.EnableStrict).UniversalDeserializer()
	return c, nil
}

// evaluate runs the registry on one pod and returns its verdict and the
// forbidden results by check ID.
func (c *checker) evaluate(m *metav1.ObjectMeta, s *corev1.PodSpec) (bool, []violation, error) {
	c.log = c.log[:0]
	results := c.evaluator.EvaluatePod(c.level, m, s)
	agg := policy.AggregateCheckResults(results)
	if len(results) == 0 || len(results) != len(c.log) {
		return false, nil, fmt.Errorf("internal error: %d check results but %d recorded", len(results), len(c.log))
	}
	var vs []violation
	for i, r := range results {
		if c.log[i].result != r {
			return false, nil, fmt.Errorf("internal error: check result %d not attributed", i)
		}
		if !r.Allowed {
			vs = append(vs, violation{Check: string(c.log[i].id), Reason: r.ForbiddenReason, Detail: r.ForbiddenDetail})
		}
	}
	if agg.Allowed != (len(vs) == 0) {
		return false, nil, errors.New("internal error: aggregate verdict disagrees with the checks")
	}
	return agg.Allowed, vs, nil
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// podKind reports whether resource names a kind the plugin extracts a pod
// template from, in any group.
func (c *checker) podKind(resource string) bool {
	for _, gr := range c.extractor.PodSpecResources() {
		if gr.Resource == resource {
			return true
		}
	}
	return false
}

// object judges one decoded JSON object (a List's items one by one).
func (c *checker) object(file string, doc int, raw []byte, out *[]result) error {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return &inputError{file, doc, fmt.Errorf("not a Kubernetes object: %v", err)}
	}
	if h.APIVersion == "" || h.Kind == "" {
		return &inputError{file, doc, errors.New("not a Kubernetes object: apiVersion or kind missing")}
	}
	gvk := schema.FromAPIVersionAndKind(h.APIVersion, h.Kind)
	if gvk.Version == "" || strings.Count(h.APIVersion, "/") > 1 {
		return &inputError{file, doc, fmt.Errorf("invalid apiVersion %q", h.APIVersion)}
	}
	if h.Kind == "List" && gvk.Group == "" {
		for _, item := range h.Items {
			if err := c.object(file, doc, item, out); err != nil {
				return err
			}
		}
		return nil
	}
	r := result{File: file, Document: doc, APIVersion: h.APIVersion, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name, Allowed: true, Violations: []violation{}}
	resource, _ := meta.UnsafeGuessKindToResource(gvk)
	if !c.extractor.HasPodSpec(resource.GroupResource()) {
		// A workload kind under the group it left in Kubernetes 1.16 would
		// otherwise pass unjudged.
		if gvk.Group == "extensions" && c.podKind(resource.Resource) {
			return &inputError{file, doc, fmt.Errorf("%s %s: this apiVersion is not served by Kubernetes (k8s.io/api %s)", h.APIVersion, h.Kind, depVersion("k8s.io/api"))}
		}
		*out = append(*out, r)
		return nil
	}
	if !c.scheme.Recognizes(gvk) {
		return &inputError{file, doc, fmt.Errorf("%s %s: this apiVersion is not served by Kubernetes (k8s.io/api %s)", h.APIVersion, h.Kind, depVersion("k8s.io/api"))}
	}
	obj, _, err := c.decoder.Decode(raw, &gvk, nil)
	if err != nil {
		return &inputError{file, doc, fmt.Errorf("%s %s %q: %v", h.APIVersion, h.Kind, h.Metadata.Name, err)}
	}
	podMeta, podSpec, err := c.extractor.ExtractPodSpec(obj)
	if err != nil {
		return &inputError{file, doc, err}
	}
	if podMeta == nil && podSpec == nil {
		// A controller without a template: the plugin has nothing to judge.
		*out = append(*out, r)
		return nil
	}
	r.PodTemplate = true
	if r.Allowed, r.Violations, err = c.evaluate(podMeta, podSpec); err != nil {
		return err
	}
	if r.Violations == nil {
		r.Violations = []violation{}
	}
	*out = append(*out, r)
	return nil
}

// file reads and judges every document of one input; nothing is reported
// for a file with an error in it.
func (c *checker) file(name string) ([]result, error) {
	var in io.Reader
	if name == "-" {
		in = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, &inputError{name, 0, errors.Unwrap(err)}
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, &inputError{name, 0, errors.New("is a directory")}
		}
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	if err != nil {
		return nil, &inputError{name, 0, err}
	}
	if len(data) > maxInput {
		return nil, &inputError{name, 0, fmt.Errorf("larger than %d MiB", maxInput>>20)}
	}
	if name == "-" {
		name = "<stdin>"
	}
	var out []result
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		chunk, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &inputError{name, doc, err}
		}
		js, err := yaml.YAMLToJSONStrict(chunk)
		if err != nil {
			return nil, &inputError{name, doc, fmt.Errorf("not YAML: %v", err)}
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue // empty document or comments only
		}
		if js[0] != '{' {
			return nil, &inputError{name, doc, errors.New("not a Kubernetes object: the document is not a mapping")}
		}
		if err := c.object(name, doc, js, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func depVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "podsecurity: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	defer func() {
		if p := recover(); p != nil {
			fail(2, "internal error: %v", p)
		}
	}()
	level := api.LevelRestricted
	var files []string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			fmt.Println(usage)
			return
		case a == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case a == "--level" || strings.HasPrefix(a, "--level="):
			v, ok := strings.CutPrefix(a, "--level=")
			if !ok {
				if i+1 == len(args) {
					fail(2, "--level needs a value\n%s", usage)
				}
				i++
				v = args[i]
			}
			switch api.Level(v) {
			case api.LevelBaseline, api.LevelRestricted:
				level = api.Level(v)
			default:
				fail(2, "--level must be baseline or restricted, not %q", v)
			}
		case a != "-" && strings.HasPrefix(a, "-"):
			fail(2, "unknown option %q\n%s", a, usage)
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		fail(2, "no input file\n%s", usage)
	}
	c, err := newChecker(level)
	if err != nil {
		fail(2, "internal error: %v", err)
	}
	stdout := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var objects, templates, denied, bad int
	for _, f := range files {
		results, err := c.file(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "podsecurity: %v\n", err)
			bad++
			continue
		}
		for _, r := range results {
			objects++
			if r.PodTemplate {
				templates++
			}
			if !r.Allowed {
				denied++
			}
			if err := enc.Encode(r); err != nil {
				fail(3, "writing standard output: %v", err)
			}
		}
	}
	if err := stdout.Flush(); err != nil {
		fail(3, "writing standard output: %v", err)
	}
	fmt.Fprintf(os.Stderr, "podsecurity: %s@latest (k8s.io/pod-security-admission %s): %d objects in %d files, %d pod templates, %d allowed, %d denied",
		level, depVersion("k8s.io/pod-security-admission"), objects, len(files)-bad, templates, templates-denied, denied)
	if bad > 0 {
		fmt.Fprintf(os.Stderr, ", %d unreadable files", bad)
	}
	fmt.Fprintln(os.Stderr)
	switch {
	case bad > 0:
		os.Exit(2)
	case denied > 0:
		os.Exit(1)
	}
}
