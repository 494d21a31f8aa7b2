package main

// `oracle secrets`: which settings the pinned server treats as secret, found by
// behaviour, not by reading its source:
//
//  1. model.Config: every string, []string, map and pointer reachable from a
//     zero Config is filled with a sentinel (slices and maps get one element),
//     the public (*model.Config).Sanitize(nil, nil) is called, and every leaf
//     whose value changed is reported.
//  2. server/v8/config.ConfigDiffs: one ConfigDiff per setting path (Go field
//     names joined by ".", as config.Diff labels them), with sentinel base and
//     actual values; the exported Sanitize() is called and every path whose
//     values were replaced is reported. (A list of exactly one diff is
//     sanitised differently, by sanitising whole Configs inside it; the list
//     here always has many.)
//
// Paths inside a slice of structs drop the index (Parent.Field), as the
// catalog's consumers (src/secrets.rs, modules/document.nix) compare them. With nil plugin
// manifests Sanitize drops every plugin's settings (PluginSettings.Plugins);
// with real manifests it masks only the keys a manifest marks secret, so
// PluginSettings.Plugins is reported as a whole.

import (
	"reflect"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/v8/config"
)

const sentinel = "oracle-sentinel-value"

func fill(v reflect.Value, depth int) {
	if depth > 12 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(sentinel)
	case reflect.Ptr:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf(sentinel))
		}
	}
}

// leaves maps each setting path to its value (as an interface) for comparison.
func leaves(v reflect.Value, path string, out map[string]any) {
	switch v.Kind() {
	case reflect.Ptr:
		if v.IsNil() {
			out[path] = nil
			return
		}
		leaves(v.Elem(), path, out)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			leaves(v.Field(i), join(path, f.Name), out)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct ||
			(v.Type().Elem().Kind() == reflect.Ptr && v.Type().Elem().Elem().Kind() == reflect.Struct) {
			for i := 0; i < v.Len(); i++ {
				leaves(v.Index(i), path, out)
			}
			if v.Len() == 0 {
				out[path] = nil
			}
			return
		}
		out[path] = clone(v)
	default:
		out[path] = clone(v)
	}
}

func clone(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		return c.Interface()
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		// Deep enough for map[string]map[string]any (PluginSettings.Plugins).
		c := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			c.SetMapIndex(k, reflect.ValueOf(clone(v.MapIndex(k))).Convert(v.Type().Elem()))
		}
		return c.Interface()
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return clone(v.Elem())
	default:
		return v.Interface()
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// diffPaths: every path config.Diff could label, at every struct level.
func diffPaths(t reflect.Type, path string, out *[]string) {
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if path != "" {
		*out = append(*out, path)
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			diffPaths(f.Type, join(path, f.Name), out)
		}
	}
}

func secrets(detail bool) (*secretSettings, error) {
	var cfg model.Config
	fill(reflect.ValueOf(&cfg).Elem(), 0)
	before := map[string]any{}
	leaves(reflect.ValueOf(&cfg).Elem(), "", before)
	cfg.Sanitize(nil, nil)
	after := map[string]any{}
	leaves(reflect.ValueOf(&cfg).Elem(), "", after)
	fromModel := map[string]bool{}
	for p, b := range before {
		if !reflect.DeepEqual(b, after[p]) {
			fromModel[p] = true
		}
	}

	var paths []string
	diffPaths(reflect.TypeOf(model.Config{}), "", &paths)
	diffs := make(config.ConfigDiffs, 0, len(paths))
	for _, p := range paths {
		diffs = append(diffs, config.ConfigDiff{Path: p, BaseVal: sentinel + "-base", ActualVal: sentinel + "-actual"})
	}
	fromDiffs := map[string]bool{}
	for _, d := range diffs.Sanitize() {
		if d.BaseVal != sentinel+"-base" || d.ActualVal != sentinel+"-actual" {
			fromDiffs[d.Path] = true
		}
	}

	union := map[string]bool{}
	for p := range fromModel {
		union[p] = true
	}
	for p := range fromDiffs {
		union[p] = true
	}
	var onlyModel []string
	for _, p := range sorted(fromModel) {
		if !fromDiffs[p] {
			onlyModel = append(onlyModel, p)
		}
	}
	var onlyDiffs []string
	for _, p := range sorted(fromDiffs) {
		if !fromModel[p] {
			onlyDiffs = append(onlyDiffs, p)
		}
	}
	note := "Union of what (*model.Config).Sanitize(nil, nil) changes and what config.ConfigDiffs.Sanitize() masks, found by filling every setting with a sentinel (tools/oracle secrets.go). " +
		"Only Config.Sanitize masks: " + strings.Join(onlyModel, ", ") + ". Only ConfigDiffs.Sanitize masks: " + strings.Join(onlyDiffs, ", ") + ". " +
		"PluginSettings.Plugins: with the installed plugins' manifests the server masks only the keys a manifest marks secret (and drops plugins without a manifest)."
	out := &secretSettings{
		Source:   "Mattermost " + model.CurrentVersion + " (server/public " + moduleVersion("github.com/mattermost/mattermost/server/public") + ", server/v8 " + moduleVersion("github.com/mattermost/mattermost/server/v8") + ")",
		Note:     note,
		Settings: sorted(union),
	}
	if detail {
		out.ModelSanitize = sorted(fromModel)
		out.ConfigDiffsSanitize = sorted(fromDiffs)
	}
	return out, nil
}

type secretSettings struct {
	Source              string   `json:"source"`
	Note                string   `json:"note"`
	Settings            []string `json:"settings"`
	ModelSanitize       []string `json:"modelSanitize,omitempty"`
	ConfigDiffsSanitize []string `json:"configDiffsSanitize,omitempty"`
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// moduleVersion reports the version of a dependency this binary was built with.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}
