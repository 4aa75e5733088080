# Template, dependency layer and SAM build targets; the top-level Makefile includes every make/*.mk.
#
# cfn-lint and aws-sam-cli pin versions of boto3, pydantic, jsonschema... that conflict with each other and
# with the project, so each lives in its own venv under .tools/, installed from a fully pinned, hashed
# requirement file in tools/ (re-pinned with `make tools-lock`). A stamp makes `make tools` instant when
# the pins have not changed.


TOOLS_PYTHON ?= 3.11
LINT_REGION ?= eu-west-1
# The local layer-only Lambda runtime (see `make runtime`): what the sandbox, the e2e tests and the
# benchmark run the functions with.
LAMBDA_RUNTIME := .tools/lambda-runtime
LAMBDA_RUNTIME_PYTHON ?= 3.12

CFN_LINT := .tools/cfn-lint/bin/cfn-lint
SAM := .tools/sam/bin/sam

# SAM builds a boto3 session even for validate and build. Dummy credentials, hidden config files and no
# telemetry keep it offline and stop it from reading (or prompting for) a developer's real profile.
SAM_OFFLINE := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=offline \
	AWS_SECRET_ACCESS_KEY=offline AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	AWS_DEFAULT_REGION=$(LINT_REGION) SAM_CLI_TELEMETRY=0

LAYER_EXPORT := $(UV) export --quiet --frozen --no-dev --no-emit-project --format requirements-txt

.PHONY: tools
tools: .tools/cfn-lint/.stamp .tools/sam/.stamp ## install cfn-lint and the SAM CLI into .tools/ from tools/*.txt

.tools/%/.stamp: tools/%.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(TOOLS_PYTHON) .tools/$*
	$(UV) pip sync --quiet --require-hashes --python .tools/$*/bin/python $<
	@touch $@

.PHONY: tools-lock
tools-lock: | $(UV) ## re-pin cfn-lint, the SAM CLI and the comment model's trainer (tools/*.in) to their latest releases
	$(UV) pip compile --quiet --upgrade --generate-hashes --python-version $(TOOLS_PYTHON) \
		--custom-compile-command "make tools-lock" tools/cfn-lint.in -o tools/cfn-lint.txt
	$(UV) pip compile --quiet --upgrade --generate-hashes --python-version $(TOOLS_PYTHON) \
		--custom-compile-command "make tools-lock" tools/sam.in -o tools/sam.txt
	$(UV) pip compile --quiet --upgrade --generate-hashes --python-version $(TOOLS_PYTHON) \
		--custom-compile-command "make tools-lock" tools/comment-model.in -o tools/comment-model.txt

.PHONY: lint-template
lint-template: tools ## cfn-lint on template.yaml and on its SAM transform, and sam validate --lint (offline)
	$(CFN_LINT) template.yaml
	@mkdir -p .aws-sam
	.tools/sam/bin/python tools/sam_transform.py template.yaml --region $(LINT_REGION) > .aws-sam/transformed.json
	$(CFN_LINT) .aws-sam/transformed.json
	$(SAM_OFFLINE) $(SAM) validate --lint --template-file template.yaml --region $(LINT_REGION)

# The layer ships exactly the locked runtime dependencies: no dev group, and not the project itself
# (first-party code travels in CodeUri: functions/, never in a layer).
.PHONY: layer
layer: | $(UV) ## regenerate layers/deps/requirements.txt from uv.lock
	$(LAYER_EXPORT) -o layers/deps/requirements.txt

.PHONY: layer-check
layer-check: | $(UV) ## fail when layers/deps/requirements.txt does not match uv.lock
	@locked=$$(mktemp) && grep -v '^#' layers/deps/requirements.txt > $$locked \
		&& $(LAYER_EXPORT) --no-header | diff -u $$locked - && rm -f $$locked \
		|| { rm -f $$locked; echo "layers/deps/requirements.txt is stale: run make layer"; exit 1; }

# Functions and the dependency layer build with BuildMethod: makefile (functions/Makefile,
# layers/deps/Makefile): pip selects arm64 CPython 3.12 wheels itself, so neither Python 3.12 nor Docker
# is needed on the building machine.
# Bytecode is precompiled for Lambda's Python 3.12 when uv finds (or can install) one; without it the
# build still succeeds, and Lambda compiles the modules at each cold start (read-only /opt, /var/task).
.PHONY: build
build: layer-check tools ## sam build (arm64 wheels for python3.12; needs neither Python 3.12 nor Docker)
	@bytecode="$$($(UV) python find 3.12 2>/dev/null \
		|| { $(UV) python install --quiet 3.12 >/dev/null 2>&1 && $(UV) python find 3.12; } || true)"; \
	if [ -z "$$bytecode" ]; then echo "no Python 3.12 found or installable: building without bytecode"; fi; \
	BYTECODE_PYTHON="$$bytecode" $(SAM_OFFLINE) $(SAM) build --template-file template.yaml

# The layer-only runtime: an interpreter (Python 3.12 when uv finds or can install one, else this
# machine's python3: the code supports both) and the dependency layer built for this machine by the
# layer's own recipe. Workers run it as `python -I -S`: nothing of .venv or site-packages is importable.
.PHONY: runtime
runtime: $(LAMBDA_RUNTIME)/runtime.json ## build the layer-only Lambda runtime the sandbox and tests run functions in

$(LAMBDA_RUNTIME)/runtime.json: layers/deps/requirements.txt layers/deps/Makefile | $(UV)
	rm -rf $(LAMBDA_RUNTIME)
	@python="$$($(UV) python find $(LAMBDA_RUNTIME_PYTHON) 2>/dev/null \
		|| { $(UV) python install --quiet $(LAMBDA_RUNTIME_PYTHON) >/dev/null 2>&1 \
			&& $(UV) python find $(LAMBDA_RUNTIME_PYTHON); } \
		|| command -v $(PYTHON))" && \
	echo "layer-only Lambda runtime on $$("$$python" -I -S -c 'import sys; print(sys.executable, sys.version.split()[0])')" && \
	$(MAKE) --no-print-directory -C layers/deps build-DependenciesLayer \
		ARTIFACTS_DIR="$(abspath $(LAMBDA_RUNTIME))/opt" PIP="$(abspath $(UV)) pip" \
		PIP_TARGET_PLATFORM="--python $$python" && \
	"$$python" -I -S -c 'import json, sys; print(json.dumps({"python": sys.executable, \
		"python_version": "%d.%d" % sys.version_info[:2], "layers": ["opt/python"]}))' > $@.tmp
	mv $@.tmp $@
