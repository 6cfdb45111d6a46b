#!/usr/bin/env bash
# helm-check: the Helm chart's checks, offline and without a cluster (make helm-check; CI).
#
#  1. installs helm and kubectl-validate into .bin/ when they are absent or not the pinned
#     version (built from the Go module proxy, like golangci-lint in the Makefile);
#  2. helm lint --strict, with the default values and with every values file in the chart's ci/;
#  3. helm template with the same values sets (and checks that a contradictory Redis setting is
#     refused);
#  4. validates every rendered manifest against the built-in Kubernetes schemas embedded in
#     kubectl-validate (for the oldest and the newest Kubernetes the chart is meant for), and the
#     ServiceMonitor against the prometheus-operator CRD, read from that project's Go module
#     (fetched through the Go module proxy: no schema download site is needed);
#  5. compares the default render with deploy/helm/fabsync/testdata/default.golden.yaml.
#     UPDATE=1 rewrites the golden file instead (review its diff like code).
#
# Exits non-zero on the first failure. Needs Go (and network access to the Go module proxy the
# first time); nothing else. HELMCHECK_BIN overrides where the tools go (default .bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

HELM_VERSION=v3.22.0
KUBECTL_VALIDATE_VERSION=v0.0.5-0.20260105161640-a97ccfaca20b # embeds schemas for 1.23-1.35
PROMETHEUS_OPERATOR_VERSION=v0.85.0                             # the ServiceMonitor CRD
KUBE_VERSIONS=(1.25 1.35)                                       # oldest supported, newest embedded

CHART=deploy/helm/fabsync
GOLDEN=$CHART/testdata/default.golden.yaml
BIN=${HELMCHECK_BIN:-$PWD/.bin}
RELEASE=fabsync # release name and namespace of the renders (the golden file depends on them)
NAMESPACE=fabsync

work=$(mktemp -d)
pids=() names=() # the background builds of ensure_tool
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
# Helm keeps caches and config under $HOME by default; keep this run to itself.
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data
# kubectl-validate must never reach for a cluster: the schemas come from the binary.
export KUBECONFIG=$work/no-kubeconfig

step() { printf '\n== %s\n' "$*"; }
die() { printf 'helm-check: FAIL: %s\n' "$*" >&2; exit 1; }

# installed BIN MODULE VERSION: the binary exists and was built from MODULE at VERSION.
installed() {
	[ -x "$1" ] && go version -m "$1" 2>/dev/null | awk -v m="$2" -v v="$3" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }'
}

# ensure_tool PACKAGE MODULE VERSION NAME: starts go install in the background unless the binary
# is already there; the builds run side by side (downloads of one overlap the compile of the
# other), and wait_tools waits for them.
ensure_tool() {
	if installed "$BIN/$4" "$2" "$3"; then
		echo "$4 $3: $BIN/$4"
		return
	fi
	echo "$4 $3: installing into $BIN (go install $1@$3)"
	mkdir -p "$BIN"
	# From an empty folder, so that no go.mod around it is read or changed.
	(cd "$work" && start=$SECONDS && GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "$1@$3" &&
		installed "$BIN/$4" "$2" "$3" && echo "$4: built in $((SECONDS - start)) s") >"$work/$4.log" 2>&1 &
	pids+=($!) names+=("$4")
}
wait_tools() {
	local i failed=0
	for i in "${!pids[@]}"; do
		if wait "${pids[$i]}"; then
			tail -n 1 "$work/${names[$i]}.log"
		else
			echo "${names[$i]}: go install failed:" >&2
			tail -n 30 "$work/${names[$i]}.log" >&2
			failed=1
		fi
	done
	[ "$failed" = 0 ] || die "installing the tools"
}

step "tools"
go version
ensure_tool helm.sh/helm/v3/cmd/helm helm.sh/helm/v3 "$HELM_VERSION" helm
ensure_tool sigs.k8s.io/kubectl-validate sigs.k8s.io/kubectl-validate "$KUBECTL_VALIDATE_VERSION" kubectl-validate
wait_tools
helm=$BIN/helm
validate=$BIN/kubectl-validate

# The ServiceMonitor CRD, from the prometheus-operator Go module (checked against the Go
# checksum database like any module download).
mod=github.com/prometheus-operator/prometheus-operator
dir=$(cd "$work" && GOFLAGS= go mod download -json "$mod@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
crd=$dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
[ -n "$dir" ] && [ -f "$crd" ] || die "no ServiceMonitor CRD in $mod@$PROMETHEUS_OPERATOR_VERSION"
mkdir -p "$work/crds"
cp "$crd" "$work/crds/"
echo "ServiceMonitor CRD: $mod@$PROMETHEUS_OPERATOR_VERSION"

# The values sets: the defaults, then every file in ci/.
sets=(default)
for f in "$CHART"/ci/*.yaml; do
	sets+=("$(basename "$f" .yaml)")
done
args() { # the helm flags of one values set
	if [ "$1" != default ]; then
		printf '%s\n' -f "$CHART/ci/$1.yaml"
	fi
}

step "helm lint --strict"
for s in "${sets[@]}"; do
	mapfile -t a < <(args "$s")
	echo "-- $s"
	"$helm" lint --strict "$CHART" --namespace "$NAMESPACE" "${a[@]}" || die "helm lint ($s)"
done

step "helm template"
mkdir -p "$work/render"
for s in "${sets[@]}"; do
	mapfile -t a < <(args "$s")
	"$helm" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${a[@]}" >"$work/render/$s.yaml" || die "helm template ($s)"
	kinds=$(awk '/^kind: / { print $2 }' "$work/render/$s.yaml" | sort | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = ", " }')
	echo "-- $s: $kinds"
	if grep -q '^kind: Secret$' "$work/render/$s.yaml"; then
		die "$s renders a Secret; the chart must only reference existing Secrets"
	fi
done
# The bundled Redis must never evict (asynq's queues) and must persist.
grep -q -- '- noeviction' "$work/render/default.yaml" || die "default render: the bundled Redis lacks maxmemory-policy noeviction"
grep -q '^  volumeClaimTemplates:' "$work/render/default.yaml" || die "default render: the bundled Redis has no volume claim"
# A contradictory Redis choice is refused with a message, not rendered.
if out=$("$helm" template "$RELEASE" "$CHART" --set redis.url=redis://elsewhere:6379 2>&1); then
	die "helm template accepted the bundled Redis and redis.url at once"
fi
grep -q 'set redis.bundled.enabled=false' <<<"$out" || die "unexpected error for bundled + redis.url: $out"
echo "-- bundled + redis.url: refused as it should be"

step "validate (kubectl-validate, offline: built-in schemas + the ServiceMonitor CRD)"
for v in "${KUBE_VERSIONS[@]}"; do
	echo "-- Kubernetes $v"
	"$validate" --version "$v" --local-crds "$work/crds" "$work/render/" || die "kubectl-validate (Kubernetes $v)"
done

step "golden file ($GOLDEN)"
if [ "${UPDATE:-}" = 1 ]; then
	mkdir -p "$(dirname "$GOLDEN")"
	cp "$work/render/default.yaml" "$GOLDEN"
	echo "rewritten: review it with git diff $GOLDEN"
elif ! diff -u "$GOLDEN" "$work/render/default.yaml"; then
	die "the default render differs from $GOLDEN (above). If the change is intended: UPDATE=1 scripts/helmcheck.sh (or make helm-check UPDATE=1), then review the diff"
else
	echo "the default render matches"
fi

printf '\nhelm-check: OK in %d s (not run against a live cluster: see docs/DEPLOY.md)\n' "$SECONDS"
