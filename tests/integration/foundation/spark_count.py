# SPDX-License-Identifier: Apache-2.0
# spark_count.py -- batch-read a Kafka topic with Spark local mode and the
# pinned spark-sql-kafka jars; prints the row count and distinct key count.
import glob
import os
import sys

from pyspark.sql import SparkSession

bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = os.environ.get("SPATE_ROOT", ".")
jars = ",".join(sorted(glob.glob(os.path.join(root, "deps/lib/spark/*.jar"))))
spark = (SparkSession.builder.master("local[2]").appName("spate-it-count")
         .config("spark.jars", jars)
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "2")
         .getOrCreate())
spark.sparkContext.setLogLevel("WARN")
df = (spark.read.format("kafka")
      .option("kafka.bootstrap.servers", bootstrap)
      .option("subscribe", topic)
      .option("startingOffsets", "earliest")
      .option("endingOffsets", "latest")
      .load())
rows = df.count()
keys = df.select("key").distinct().count()
parts = df.select("partition").distinct().count()
spark.stop()
print(f"spark read {rows} rows, {keys} distinct keys, {parts} partitions")
if rows != expected or keys != expected or parts != 6:
    print(f"FAIL: expected {expected} rows and keys over 6 partitions", file=sys.stderr)
    sys.exit(1)
