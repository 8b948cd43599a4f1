#!/usr/bin/env bash
# Mutation testing with mutmut (docs/testing.md reports the scores). Not part of .ci/run: it takes long.
#
#   scripts/mutation.sh [core|lifecycle|attempt] [mutmut run arguments...]
#
# core:      saleor_gordon/core/, saleor/signature.py and catch_up/plan.py against tests/core,
#            tests/saleor/test_signature.py and tests/catch_up/test_plan.py
# lifecycle: saleor_gordon/jobs/lifecycle.py (the transition table) against tests/jobs/test_lifecycle.py
# attempt:   saleor_gordon/jobs/attempt.py against tests/jobs/test_attempt.py,
#            tests/jobs/test_attempt_fulfillment.py, tests/jobs/test_kept_delivery_dates.py,
#            tests/jobs/test_no_answer.py and tests/jobs/test_attempt_deadline.py
#            (ATTEMPT_TESTS='["tests/a.py", ...]' overrides)
#
# Each target runs in its own scratch copy, .mutation/<target>/ (git-ignored), with the repository's
# pyproject.toml plus that target's [tool.mutmut] section; mutmut keeps its results there, so a
# second run only re-tests what changed. One process (--max-children 1): the machine is shared.
# A run keeps earlier verdicts; after changing tests, start afresh: rm -rf .mutation/<target>.
# Afterwards: cd .mutation/<target> && uv run --project ../.. mutmut results   (or: mutmut show NAME)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-core}"
shift || true

case "$target" in
core)
    section='[tool.mutmut]
source_paths = ["saleor_gordon"]
only_mutate = ["saleor_gordon/core/*", "saleor_gordon/saleor/signature.py", "saleor_gordon/catch_up/plan.py"]
do_not_mutate = ["saleor_gordon/core/__init__.py"]
pytest_add_cli_args_test_selection = ["tests/core", "tests/saleor/test_signature.py", "tests/catch_up/test_plan.py"]
# test_core_is_pure reads the imports of core/, which mutmut'"'"'s trampolines change: not a mutant test.
pytest_add_cli_args = ["-p", "no:cacheprovider", "--ignore=tests/core/test_core_is_pure.py"]
also_copy = ["graphql", "manifest"]'
    ;;
lifecycle)
    # Pure: its table test runs in about two seconds per mutant.
    section='[tool.mutmut]
source_paths = ["saleor_gordon"]
only_mutate = ["saleor_gordon/jobs/lifecycle.py"]
pytest_add_cli_args_test_selection = ["tests/jobs/test_lifecycle.py"]
pytest_add_cli_args = ["-p", "no:cacheprovider"]
also_copy = ["graphql", "manifest"]'
    ;;
attempt)
    # The in-process tests of the attempt (not the e2e tests: their processes are not mutated).
    # ATTEMPT_TESTS overrides the selection, as a TOML list of paths.
    section='[tool.mutmut]
source_paths = ["saleor_gordon"]
only_mutate = ["saleor_gordon/jobs/attempt.py"]
pytest_add_cli_args_test_selection = '"${ATTEMPT_TESTS:-[\"tests/jobs/test_attempt.py\", \"tests/jobs/test_attempt_fulfillment.py\", \"tests/jobs/test_kept_delivery_dates.py\", \"tests/jobs/test_no_answer.py\", \"tests/jobs/test_attempt_deadline.py\"]}"'
# mutation_warmup builds the Saleor fake'"'"'s schema in the fork server, not once per mutant.
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "tests.jobs.mutation_warmup"]
also_copy = ["graphql", "manifest"]'
    ;;
*)
    echo "usage: $0 [core|lifecycle|attempt] [mutmut run arguments...]" >&2
    exit 2
    ;;
esac

work="$repo/.mutation/$target"
mkdir -p "$work"
# A fresh copy of the code and tests (mutmut's cache compares file contents, so results stay valid).
for dir in saleor_gordon tests graphql manifest; do
    rm -rf "${work:?}/$dir"
    cp -r "$repo/$dir" "$work/$dir"
done
find "$work" -name __pycache__ -prune -exec rm -rf {} +
{ cat "$repo/pyproject.toml"; echo; echo "$section"; } >"$work/pyproject.toml"
cp "$repo/uv.lock" "$work/uv.lock"
# mutmut runs the tests in $work/mutants/, where tests/conftest.py looks for ../shared.
if [ -d "$repo/../shared" ] && [ ! -e "$work/shared" ]; then
    ln -s "$repo/../shared" "$work/shared"
fi

cd "$work"
uv run --project "$repo" mutmut run --max-children 1 "$@"
