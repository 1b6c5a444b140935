#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Spark container entrypoint: `master`, `worker` or `job [spate_job.py options]`.
#
#   SPATE_SPARK_MASTER     master URL the worker and the job use  (spark://spark-master:7077)
#   SPARK_MASTER_HOST      name the master binds and advertises   (spark-master)
#   SPARK_WORKER_CORES     task slots a worker offers             (8; a real-time query
#                          needs one per Kafka partition at once, threads not cores)
#   SPARK_WORKER_MEMORY    memory a worker offers                 (1g)
#   SPATE_KAFKA            Kafka bootstrap servers for the job    (kafka:9092)
#   SPATE_SPARK_CHECKPOINTS checkpoint folder, shared by the job and the workers
#                          (/var/lib/spate/checkpoints, a named volume)
#   SPATE_SPARK_EXECUTOR_MEMORY  executor heap                    (512m)
#   SPATE_SPARK_CONF       extra "k=v k=v" Spark settings for the job
#   SPATE_JOB_ARGS         extra options of spark/spate_job.py
set -euo pipefail
role=${1:-job}
[ $# -gt 0 ] && shift
MASTER=${SPATE_SPARK_MASTER:-spark://spark-master:7077}
export SPARK_LOCAL_DIRS=${SPARK_LOCAL_DIRS:-/tmp}
# Addresses other containers can reach: the container's IP, not its id.
my_ip=$(hostname -i | awk '{print $1}')

case "$role" in
master)
  exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
       --host "${SPARK_MASTER_HOST:-spark-master}" --port 7077 --webui-port 8080 "$@"
  ;;
worker)
  exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
       --host "$my_ip" --webui-port 8081 --cores "${SPARK_WORKER_CORES:-8}" \
       --memory "${SPARK_WORKER_MEMORY:-1g}" --work-dir /var/lib/spate/work "$@" "$MASTER"
  ;;
job)
  jars=$(ls /opt/spate/lib/spark/*.jar | paste -sd, -)
  conf=(--conf "spark.driver.host=$my_ip" --conf spark.driver.bindAddress=0.0.0.0
        --conf "spark.executor.memory=${SPATE_SPARK_EXECUTOR_MEMORY:-512m}"
        --conf spark.ui.enabled=false
        --conf spark.sql.shuffle.partitions=4
        --conf spark.sql.streaming.stopGracefullyOnShutdown=true)
  for kv in ${SPATE_SPARK_CONF:-}; do conf+=(--conf "$kv"); done
  # shellcheck disable=SC2086
  exec "$SPARK_HOME/bin/spark-submit" --master "$MASTER" --deploy-mode client \
       --name spate --jars "$jars" "${conf[@]}" \
       /opt/spate/spark/spate_job.py \
       --bootstrap "${SPATE_KAFKA:-kafka:9092}" \
       --checkpoint-dir "${SPATE_SPARK_CHECKPOINTS:-/var/lib/spate/checkpoints}" \
       --sql-dir /opt/spate/pipelines/users ${SPATE_JOB_ARGS:-} "$@"
  ;;
*)
  exec "$role" "$@"
  ;;
esac
