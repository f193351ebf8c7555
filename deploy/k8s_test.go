package deploy_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/rdonboard/rdonboard/internal/worker"
)

// kustomized builds deploy/k8s with kubectl and decodes every object
// strictly into its k8s.io/api type: a misspelt or misplaced field fails.
func kustomized(t *testing.T) (map[string]any, *appsv1.Deployment) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed: deploy/k8s not built (install kubectl to run this test)")
	}
	out, err := exec.Command(kubectl, "kustomize", "k8s").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/k8s: %v", err)
	}
	objs := map[string]any{}
	var dep *appsv1.Deployment
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		obj := typed(t, meta.Kind)
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s does not decode strictly: %v", meta.Kind, err)
		}
		objs[meta.Kind] = obj
		if d, ok := obj.(*appsv1.Deployment); ok {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("deploy/k8s has no Deployment")
	}
	return objs, dep
}

func typed(t *testing.T, kind string) any {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "Service":
		return &corev1.Service{}
	case "ConfigMap":
		return &corev1.ConfigMap{}
	case "PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	}
	t.Fatalf("unexpected kind %q in deploy/k8s", kind)
	return nil
}

// TestKustomizeBase checks the objects an operator relies on: two
// replicas, a budget that keeps one running, and the Service.
func TestKustomizeBase(t *testing.T) {
	t.Parallel()
	objs, dep := kustomized(t)
	for _, kind := range []string{"Service", "ConfigMap", "PodDisruptionBudget"} {
		if objs[kind] == nil {
			t.Errorf("deploy/k8s has no %s", kind)
		}
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	if pdb, ok := objs["PodDisruptionBudget"].(*policyv1.PodDisruptionBudget); ok {
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.Selector == nil {
			t.Errorf("budget %+v: want at least one worker kept, with a selector", pdb.Spec)
		}
	}
}

// TestKustomizePod checks what keeps a worker safe to stop and to probe:
// the grace period above the shutdown timeout, the probe paths, a non-root
// read-only container with requests.
func TestKustomizePod(t *testing.T) {
	t.Parallel()
	_, dep := kustomized(t)
	pod := dep.Spec.Template.Spec
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= int64(worker.ShutdownTimeout.Seconds()) {
		t.Errorf("terminationGracePeriodSeconds %v: want above the shutdown timeout %s", g, worker.ShutdownTimeout)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod may run as root: want runAsNonRoot")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v: want GET /readyz", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v: want GET /healthz", p)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem is writable")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("requests %v: want cpu and memory", c.Resources.Requests)
	}
}

// TestKustomizeSecretsByReference checks that every secret setting comes
// from a Secret and no file holds one.
func TestKustomizeSecretsByReference(t *testing.T) {
	t.Parallel()
	objs, dep := kustomized(t)
	secret := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ONBOARD_CALLBACK_TOKEN", "ONBOARD_LINK_SECRET"}
	env := map[string]corev1.EnvVar{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for _, name := range secret {
		e, ok := env[name]
		if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: want a secretKeyRef, got %+v", name, e)
		}
	}
	if cm, ok := objs["ConfigMap"].(*corev1.ConfigMap); ok {
		for k := range cm.Data {
			if strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN") || strings.Contains(k, "ACCESS_KEY") {
				t.Errorf("ConfigMap holds %s: secrets belong in the Secret", k)
			}
		}
	}
	if objs["Secret"] != nil {
		t.Error("deploy/k8s ships a Secret: its values would be in the repository")
	}
}
