// Command operator-deployment prints the objects that mattermost-operator
// itself builds from a `Mattermost` resource (installation.mattermost.com/
// v1beta1), by calling the operator's own code in the order its reconciler
// does (controllers/mattermost/mattermost): SetDefaults,
// SetReplicasAndResourcesFromSize, the database and file-store configs
// (NewExternalDBConfig, NewExternalFileStoreInfo, ...), then
// GenerateDeploymentV1Beta, GenerateServiceV1Beta, GenerateIngressV1Beta and
// the resource patches. It needs no cluster.
//
//	operator-deployment [--all] [--db-secret-key KEY]... FILE ('-' reads stdin)
//	operator-deployment --version
//
// The operator reads two Secrets before it builds the Deployment; their data
// is not in the resource, so this program constructs them with the key names
// the operator requires and placeholder values that never reach the output
// (the Deployment only refers to the keys):
//
//   - database (spec.database.external.secret): DB_CONNECTION_STRING, a
//     postgres:// placeholder (the operator takes the database type from its
//     prefix). --db-secret-key adds one of the optional keys the operator looks
//     for: DB_CONNECTION_CHECK_URL (turns on the init-check-database init
//     container), MM_SQLSETTINGS_DATASOURCE, MM_SQLSETTINGS_DATASOURCEREPLICAS.
//   - file store (spec.fileStore.external.secret): accesskey and secretkey.
//
// Output: the Deployment as YAML on stdout. --all prints a YAML stream: the
// Deployment, the Service, the Ingress (when the operator creates one), the
// dedicated job server Deployment (spec.jobServer.dedicatedJobServer) and
// the `mattermost-update-check` Job the operator runs before it rolls out a
// new image (unless spec.updateJob.disabled).
//
// Input is decoded strictly: an unknown or duplicate field is an error, so a
// field the operator's types do not know is reported instead of dropped.
// Operator-managed databases and file stores (MySQL and MinIO operators) are
// refused: they depend on live objects of other operators.
//
// Exit codes: 0 printed, 2 usage or bad input (the reason on stderr), 3 the
// file cannot be read.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	mmv1beta "github.com/mattermost/mattermost-operator/apis/mattermost/v1beta1"
	mattermostApp "github.com/mattermost/mattermost-operator/pkg/mattermost"
	"github.com/mattermost/mattermost-operator/pkg/resources"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const usage = "usage: operator-deployment [--all] [--db-secret-key KEY]... FILE ('-' reads standard input)\n" +
	"       operator-deployment --version"

// operatorSource is set by scripts/operator-deployment-build.sh (-ldflags -X):
// the operator checkout's commit (or content hash) the binary was built from.
var operatorSource = "unknown"

// maxInput bounds the input; a rendered resource is far smaller.
const maxInput = 16 << 20

// Placeholder Secret data. The operator only checks that the keys exist (and
// reads the connection string's scheme and the check URL's form); the
// generated objects refer to the keys, never to these values.
const (
	placeholderMark       = "operator-deployment-placeholder"
	placeholderConnection = "postgres://" + placeholderMark + ":" + placeholderMark + "@database.invalid:5432/mattermost?sslmode=verify-full"
	placeholderCheckURL   = "postgres://" + placeholderMark + "@database.invalid:5432/mattermost"
	placeholderValue      = placeholderMark
)

var optionalDBKeys = []string{"DB_CONNECTION_CHECK_URL", "MM_SQLSETTINGS_DATASOURCE", "MM_SQLSETTINGS_DATASOURCEREPLICAS"}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }

type options struct {
	all    bool
	dbKeys []string
	file   string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintf(stdout, "operator-deployment, mattermost-operator source %s\n", operatorSource)
		return 0
	}
	opts, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "operator-deployment: %v\n%s\n", err, usage)
		return 2
	}
	out, err := generate(opts, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "operator-deployment: %v\n", err)
		var ioe ioError
		if errors.As(err, &ioe) {
			return 3
		}
		return 2
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "operator-deployment: writing the output: %v\n", err)
		return 3
	}
	return 0
}

func parseArgs(args []string) (options, error) {
	var opts options
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--all":
			opts.all = true
		case a == "--db-secret-key" || strings.HasPrefix(a, "--db-secret-key="):
			key, found := strings.CutPrefix(a, "--db-secret-key=")
			if !found {
				if i+1 == len(args) {
					return opts, usageError{"--db-secret-key needs a key name"}
				}
				i++
				key = args[i]
			}
			if !slices.Contains(optionalDBKeys, key) {
				return opts, usageError{fmt.Sprintf("--db-secret-key %q: the operator looks for no such optional key (one of %s)", key, strings.Join(optionalDBKeys, ", "))}
			}
			if !slices.Contains(opts.dbKeys, key) {
				opts.dbKeys = append(opts.dbKeys, key)
			}
		case a == "-" || !strings.HasPrefix(a, "-"):
			files = append(files, a)
		default:
			return opts, usageError{fmt.Sprintf("unknown option %q", a)}
		}
	}
	if len(files) != 1 {
		return opts, usageError{"exactly one input file is needed"}
	}
	opts.file = files[0]
	return opts, nil
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	label := "standard input"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, ioError{fmt.Errorf("cannot read %s: %w", name, err)}
		}
		defer f.Close()
		r = f
		label = name
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, ioError{fmt.Errorf("cannot read %s: %w", label, err)}
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", label, maxInput)
	}
	return data, nil
}

// decode reads exactly one YAML document holding a v1beta1 Mattermost.
func decode(data []byte, label string) (*mmv1beta.Mattermost, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s is not YAML: %w", label, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		docs = append(docs, doc)
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s must hold exactly one YAML document (a Mattermost resource), found %d", label, len(docs))
	}
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(docs[0], &meta); err != nil {
		return nil, fmt.Errorf("%s is not a Kubernetes object: %w", label, err)
	}
	want := mmv1beta.GroupVersion.String()
	if meta.APIVersion != want || meta.Kind != "Mattermost" {
		return nil, fmt.Errorf("%s is apiVersion %q kind %q; expected apiVersion %q kind \"Mattermost\"", label, meta.APIVersion, meta.Kind, want)
	}
	mm := &mmv1beta.Mattermost{}
	if err := yaml.UnmarshalStrict(docs[0], mm); err != nil {
		return nil, fmt.Errorf("%s does not decode as the operator's Mattermost type: %w", label, err)
	}
	if mm.Name == "" {
		return nil, fmt.Errorf("%s has no metadata.name", label)
	}
	return mm, nil
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// databaseConfig is what the reconciler's checkDatabase returns
// (controllers/mattermost/mattermost/database.go), with the Secret it would
// read from the cluster constructed here.
func databaseConfig(mm *mmv1beta.Mattermost, extraKeys []string) (mattermostApp.DatabaseConfig, error) {
	if !mm.Spec.Database.IsExternal() {
		return nil, errors.New("spec.database is not external (spec.database.external.secret): an operator-managed database depends on the MySQL operator's live objects and is not modelled")
	}
	data := map[string][]byte{"DB_CONNECTION_STRING": []byte(placeholderConnection)}
	for _, k := range extraKeys {
		switch k {
		case "DB_CONNECTION_CHECK_URL":
			data[k] = []byte(placeholderCheckURL)
		case "MM_SQLSETTINGS_DATASOURCE":
			data[k] = []byte(strings.TrimPrefix(placeholderConnection, "postgres://"))
		default:
			data[k] = []byte(placeholderConnection)
		}
	}
	secret := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: mm.Spec.Database.External.Secret, Namespace: mm.Namespace},
		Data:       data,
	}
	db, err := mattermostApp.NewExternalDBConfig(mm, secret)
	if err != nil {
		return nil, fmt.Errorf("the operator refuses the database configuration: %w", err)
	}
	return db, nil
}

// fileStoreConfig follows the reconciler's checkFileStore
// (controllers/mattermost/mattermost/file_store.go).
func fileStoreConfig(mm *mmv1beta.Mattermost) (mattermostApp.FileStoreConfig, error) {
	fs := &mm.Spec.FileStore
	switch {
	case fs.IsExternal():
		if fs.External.UseServiceAccount {
			// The operator also requires the ServiceAccount to exist with an
			// eks.amazonaws.com/role-arn annotation.
			return wrapFS(mattermostApp.NewExternalFileStoreInfo(mm, nil))
		}
		if fs.External.Secret == "" {
			return nil, errors.New("spec.fileStore.external.secret is empty and useServiceAccount is not set: the operator cannot read the file-store Secret")
		}
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fs.External.Secret, Namespace: mm.Namespace},
			Data: map[string][]byte{
				"accesskey": []byte(placeholderValue),
				"secretkey": []byte(placeholderValue),
			},
		}
		return wrapFS(mattermostApp.NewExternalFileStoreInfo(mm, secret))
	case fs.IsExternalVolume():
		// The operator also requires the claim to be Bound or Pending.
		return wrapFS(mattermostApp.NewExternalVolumeFileStoreInfo(mm))
	case fs.IsLocal():
		// The operator creates the claim (named after the resource).
		return mattermostApp.NewLocalFileStoreInfo(), nil
	default:
		return nil, errors.New("spec.fileStore is operator-managed MinIO: it depends on the MinIO operator's live objects and is not modelled")
	}
}

func wrapFS(c mattermostApp.FileStoreConfig, err error) (mattermostApp.FileStoreConfig, error) {
	if err != nil {
		return nil, fmt.Errorf("the operator refuses the file-store configuration: %w", err)
	}
	return c, nil
}

func generate(opts options, stdin io.Reader, stderr io.Writer) ([]byte, error) {
	label := opts.file
	if label == "-" {
		label = "standard input"
	}
	data, err := readInput(opts.file, stdin)
	if err != nil {
		return nil, err
	}
	mm, err := decode(data, label)
	if err != nil {
		return nil, err
	}
	logger := funcr.New(func(prefix, args string) {
		fmt.Fprintf(stderr, "operator-deployment: operator log: %s\n", args)
	}, funcr.Options{})

	// controllers/mattermost/mattermost/controller.go Reconcile, in order.
	if err := mm.SetDefaults(); err != nil {
		return nil, fmt.Errorf("the operator refuses the resource: %w", err)
	}
	for _, w := range mm.ImageTagWarnings() {
		fmt.Fprintf(stderr, "operator-deployment: operator warning: %s\n", w)
	}
	if err := mm.SetReplicasAndResourcesFromSize(); err != nil {
		fmt.Fprintf(stderr, "operator-deployment: operator warning: spec.size: %v\n", err)
	}
	db, err := databaseConfig(mm, opts.dbKeys)
	if err != nil {
		return nil, err
	}
	fs, err := fileStoreConfig(mm)
	if err != nil {
		return nil, err
	}

	// controllers/mattermost/mattermost/mattermost.go checkMattermostDeployment.
	deployment := mattermostApp.GenerateDeploymentV1Beta(mm, db, fs, mm.Name, mm.GetIngressHost(), mm.Name, mm.GetImageName())
	deployment = patchDeployment(mm, deployment, logger)
	objects := []runtime.Object{typed(deployment, appsv1.SchemeGroupVersion.WithKind("Deployment"))}

	if opts.all {
		// checkMattermostService.
		service := mattermostApp.GenerateServiceV1Beta(mm)
		if patched, applied, err := mm.Spec.ResourcePatch.ApplyToService(service); err != nil {
			logger.Error(err, "failed to patch service (the operator goes on with the unpatched one)")
		} else if applied {
			service = patched
		}
		objects = append(objects, typed(service, corev1.SchemeGroupVersion.WithKind("Service")))

		// checkMattermostIngress: only without a LoadBalancer Service.
		if !mm.Spec.UseServiceLoadBalancer {
			switch {
			case mm.AWSLoadBalancerEnabled():
				objects = append(objects, typed(mattermostApp.GenerateALBIngressV1Beta(mm, logger), networkingv1.SchemeGroupVersion.WithKind("Ingress")))
			case mm.IngressEnabled():
				objects = append(objects, typed(mattermostApp.GenerateIngressV1Beta(mm, logger), networkingv1.SchemeGroupVersion.WithKind("Ingress")))
			}
		}

		// checkMattermostJobServerDeployment.
		if mm.Spec.JobServer != nil && mm.Spec.JobServer.DedicatedJobServer {
			js := mattermostApp.GenerateJobServerDeploymentV1Beta(mm, db, fs, mm.Name, mm.GetIngressHost(), mm.Name, mm.GetImageName())
			js = patchDeployment(mm, js, logger)
			objects = append(objects, typed(js, appsv1.SchemeGroupVersion.WithKind("Deployment")))
		}

		// updateMattermostDeployment: the job it launches when the image changes.
		if mm.Spec.UpdateJob == nil || !mm.Spec.UpdateJob.Disabled {
			job := resources.PrepareMattermostJobTemplate(resources.UpdateJobName, mm.Namespace, deployment, mm.Spec.UpdateJob)
			objects = append(objects, typed(job, batchv1.SchemeGroupVersion.WithKind("Job")))
		}
	}

	var out bytes.Buffer
	for i, obj := range objects {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding the generated %T: %w", obj, err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	if bytes.Contains(out.Bytes(), []byte(placeholderMark)) {
		// The Secrets' placeholder data must never be part of the output.
		return nil, errors.New("internal error: a placeholder Secret value reached the output")
	}
	return out.Bytes(), nil
}

func patchDeployment(mm *mmv1beta.Mattermost, d *appsv1.Deployment, logger logr.Logger) *appsv1.Deployment {
	patched, applied, err := mm.Spec.ResourcePatch.ApplyToDeployment(d)
	if err != nil {
		logger.Error(err, "failed to patch deployment (the operator goes on with the unpatched one)")
		return d
	}
	if applied {
		return patched
	}
	return d
}

// typed sets apiVersion and kind, which the operator's generators leave to
// the client's scheme.
func typed(obj runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}
