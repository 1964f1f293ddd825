#!/usr/bin/env bash
# Run a spark_jobs job through spark-submit.
#
#   ./spark-submit.sh train [wrapper options] [job options]
#   ./spark-submit.sh predict [wrapper options] [job options]
#   ./spark-submit.sh export [wrapper options] [job options]
#
# The wrapper finds spark-submit ($SPARK_SUBMIT, $SPARK_HOME/bin, or the pyspark install),
# zips spark_jobs + artifacts for --py-files, picks the master and passes Spark conf. Options it
# does not know go to the job (see `./spark-submit.sh train --help`, `… predict --help`, `… export --help`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_APP_DIR_DEFAULT=/opt/spark-model-server

usage() {
    cat <<'USAGE'
usage: ./spark-submit.sh train|predict|export [wrapper options] [job options]

wrapper options:
  --master URL            local[*] (default), local[N], spark://HOST:PORT, k8s://https://HOST:PORT
  --deploy-mode MODE      client (default) or cluster (default on k8s)
  --conf KEY=VALUE        Spark configuration; repeatable
  --driver-memory SIZE    e.g. 2g
  --executor-memory SIZE  e.g. 2g
  --k8s-image IMAGE       container image for driver and executors (required on k8s://)
  --namespace NS          Kubernetes namespace
  --service-account SA    service account of the driver pod
  --k8s-app-dir DIR       where the image holds the code (default /opt/spark-model-server)
  --dry-run, --print-command
                          print the exact spark-submit command line and exit
  -h, --help              this help, then the job's options

environment: SPARK_SUBMIT, SPARK_HOME, PYTHON, SPARK_JOBS_SIGNING_KEY, SPARK_JOBS_VERIFY_KEY
exit codes: 0 ok, 1 unexpected, 2 usage, 3 bad data, 4 export/parity,
            5 artifact (train, export) or output (predict) write, 6 model refused (predict)
USAGE
}

die() {
    echo "spark-submit.sh: error: $*" >&2
    exit 2
}

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "$PYTHON"
    elif [[ -x "$ROOT/.venv/bin/python" ]]; then
        echo "$ROOT/.venv/bin/python"
    else
        command -v python3 || die "no python3 found; set PYTHON"
    fi
}

find_spark_submit() {
    local python="$1" candidate
    if [[ -n "${SPARK_SUBMIT:-}" ]]; then
        candidate="$SPARK_SUBMIT"
    elif [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]]; then
        candidate="$SPARK_HOME/bin/spark-submit"
    else
        candidate="$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit"))' 2>/dev/null)" ||
            die "pyspark is not installed for $python and SPARK_HOME is unset (run: make install)"
    fi
    [[ -x "$candidate" ]] || die "spark-submit not found or not executable: $candidate"
    echo "$candidate"
}

build_zip() {
    local python="$1" target="$2"
    (cd "$ROOT" && "$python" - "$target" <<'PY'
import pathlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    for package in ("spark_jobs", "artifacts"):
        for path in sorted(pathlib.Path(package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                zf.write(path)
PY
    )
}

need_value() {
    [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
}

main() {
    [[ $# -ge 1 ]] || { usage >&2; exit 2; }
    local job entry
    case "$1" in
        train) job=train; entry=spark_jobs/main.py; shift ;;
        predict) job=predict; entry=spark_jobs/predict/main.py; shift ;;
        export) job="export"; entry=spark_jobs/export/main.py; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown job '$1' (known: train, predict, export)" ;;
    esac

    local master="local[*]" deploy_mode="" driver_memory="" executor_memory=""
    local k8s_image="" namespace="" service_account="" app_dir="$K8S_APP_DIR_DEFAULT"
    local dry_run=0 help=0
    local -a confs=() job_args=()
    while (($#)); do
        case "$1" in
            --master) need_value "$@"; master="$2"; shift 2 ;;
            --deploy-mode) need_value "$@"; deploy_mode="$2"; shift 2 ;;
            --conf) need_value "$@"; [[ "$2" == *=* ]] || die "--conf needs KEY=VALUE, got '$2'"; confs+=("$2"); shift 2 ;;
            --driver-memory) need_value "$@"; driver_memory="$2"; shift 2 ;;
            --executor-memory) need_value "$@"; executor_memory="$2"; shift 2 ;;
            --k8s-image) need_value "$@"; k8s_image="$2"; shift 2 ;;
            --namespace) need_value "$@"; namespace="$2"; shift 2 ;;
            --service-account) need_value "$@"; service_account="$2"; shift 2 ;;
            --k8s-app-dir) need_value "$@"; app_dir="$2"; shift 2 ;;
            --dry-run | --print-command) dry_run=1; shift ;;
            -h | --help) help=1; shift ;;
            *) job_args+=("$1"); shift ;;
        esac
    done

    local python
    python="$(find_python)"
    if ((help)); then
        usage
        echo
        exec "$python" "$ROOT/$entry" --help
    fi

    local spark_submit
    spark_submit="$(find_spark_submit "$python")"
    local -a cmd=("$spark_submit" --master "$master" --name "spark-model-server-$job")
    [[ -n "$driver_memory" ]] && cmd+=(--driver-memory "$driver_memory")
    [[ -n "$executor_memory" ]] && cmd+=(--executor-memory "$executor_memory")

    local primary workdir=""
    if [[ "$master" == k8s://* ]]; then
        [[ -n "$k8s_image" ]] || die "--k8s-image is required with a k8s:// master"
        cmd+=(--deploy-mode "${deploy_mode:-cluster}")
        cmd+=(--conf "spark.kubernetes.container.image=$k8s_image")
        [[ -n "$namespace" ]] && cmd+=(--conf "spark.kubernetes.namespace=$namespace")
        [[ -n "$service_account" ]] &&
            cmd+=(--conf "spark.kubernetes.authenticate.driver.serviceAccountName=$service_account")
        cmd+=(--conf "spark.kubernetes.driverEnv.PYTHONPATH=$app_dir")
        cmd+=(--conf "spark.executorEnv.PYTHONPATH=$app_dir")
        primary="local://$app_dir/$entry"
    else
        [[ -n "$k8s_image$namespace$service_account" ]] &&
            die "--k8s-image/--namespace/--service-account need a k8s:// master"
        [[ -n "$deploy_mode" ]] && cmd+=(--deploy-mode "$deploy_mode")
        workdir="$(mktemp -d "${TMPDIR:-/tmp}/spark-submit-sh.XXXXXX")"
        # shellcheck disable=SC2064 # expand now: workdir is local to main
        trap "rm -rf '$workdir'" EXIT
        build_zip "$python" "$workdir/spark-model-server.zip"
        cmd+=(--py-files "$workdir/spark-model-server.zip")
        cmd+=(--conf "spark.pyspark.python=$python" --conf "spark.pyspark.driver.python=$python")
        cmd+=(--conf "spark.driver.extraJavaOptions=-Dlog4j2.configurationFile=file:$ROOT/spark_jobs/log4j2.properties")
        primary="$ROOT/$entry"
    fi
    local conf
    for conf in "${confs[@]}"; do
        cmd+=(--conf "$conf")
    done
    cmd+=("$primary" "${job_args[@]}")

    if ((dry_run)); then
        printf '%q ' "${cmd[@]}"
        echo
        return 0
    fi
    local status=0
    "${cmd[@]}" || status=$?
    return "$status"
}

main "$@"
