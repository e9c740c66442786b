"""Distributed training: `PoseWarpTrainer` under `tf.distribute` makes one device's updates.

The losses divide each replica's batch mean by `num_replicas_in_sync` (see
`posegan_zoo.losses`) and the strategies sum the replicas' gradients, so a step on a global
batch split across replicas must equal one device's step on the whole batch. Every run
below starts from the same saved weights and trains on the same global batches (two
batches of 4 pairs from `pair_dataset`, kept in memory); the optimizers are plain SGD,
whose update is proportional to the gradient, so a wrong loss scale (x2, /2) moves the
weights by half an update or more: far outside the tolerance, which the tests check
(Adam would hide such a bug, as it normalizes the gradient's scale).

Each run is a subprocess (`SCRIPT`): logical devices and the cluster must be set up before
TensorFlow initializes. "reference" trains on one device; "mirrored" with
`MirroredStrategy` over two logical CPUs; "worker" is one of two local processes of a
`MultiWorkerMirroredStrategy` cluster on loopback (`TF_CONFIG`).

How a global batch is split. Keras' `fit`, and the workers' loop below, hand the dataset
to `strategy.experimental_distribute_dataset`, which rebatches each global batch of 4
into per-replica batches of 2. One process (`MirroredStrategy`) feeds the halves to its
replicas in turn. With two workers, the rebatched stream is then sharded by the dataset's
`auto_shard_policy`: DATA (set here) keeps every other half-batch, so worker 0 gets the
first half of every global batch and worker 1 the second, and each worker's pipeline
still computes whole batches (for `pair_dataset`: twice the decoding and geometry). OFF
would give every worker all the half-batches in turn (worker steps on pairs 0-1, then
2-3, both workers alike: not the single-device batches); FILE fails on in-memory or
counter-based datasets; AUTO falls back to DATA with a warning. The trainer in `SCRIPT`
writes the sample ids each replica's `train_step` receives, and the tests check them.

`MultiWorkerMirroredStrategy` and `fit`. With more than one worker, Keras 3's `fit`
(3.15 with TensorFlow 2.21 here) fails before the first step for any model: it averages
the first (nested) input batch with `strategy.reduce("MEAN", batch)`, which the
collective all-reduce cannot do (keras-team/keras#20329), and once past that it reduces
the scalar step outputs with `strategy.reduce("MEAN", value, axis=0)`, "Invalid reduction
dimension 0 for input with 0 dimensions" (tensorflow/tensorflow#72388). The workers
therefore run the trainer's own `train_step` with `strategy.run` on the distributed
dataset, as `fit` does, and read the metrics afterwards (cross-replica, i.e. global).
"""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

TIMEOUT = 240
GLOBAL_BATCH, STEPS = 4, 2
# Weights and metrics: measured differences from the single-device run are below 1e-7.
RTOL, ATOL = 1e-5, 1e-6
# The smallest largest-update per model, so that a wrong loss scale exceeds ATOL 100-fold.
MIN_UPDATE = 100 * ATOL

SCRIPT = textwrap.dedent(
    '''
    """Trains the tiny PoseWarp trainer for tests/test_distributed.py: see its docstring."""

    import json
    import os
    import pathlib
    import sys

    import tensorflow as tf

    MODE, WORKDIR = sys.argv[1], pathlib.Path(sys.argv[2])
    if MODE == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )

    import keras
    import numpy as np

    from posegan_zoo.data import pair_dataset, read_posewarp_dataset
    from posegan_zoo.models import PoseDiscriminator, PoseWarpGenerator, PoseWarpTrainer
    from posegan_zoo.models.posewarp.generator import GENERATOR_INPUTS

    GLOBAL_BATCH, STEPS = 4, 2
    GENERATOR_LEARNING_RATE, DISCRIMINATOR_LEARNING_RATE = 0.05, 0.5


    def build(stage):
        generator = PoseWarpGenerator.tiny(64, width=4)
        discriminator = None
        if stage == 2:
            discriminator = PoseDiscriminator(64, conv_widths=[4] * 6, dense_widths=[4, 4])
        return generator, discriminator


    class RecordingTrainer(PoseWarpTrainer):
        """Appends the sample ids each replica's `train_step` receives to `record`."""

        record = None

        def train_step(self, data):
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            tf.print(
                "replica", replica, "ids", data[0]["sample_id"],
                summarize=-1, output_stream="file://" + self.record,
            )
            return super().train_step(data)


    def global_batches():
        data = np.load(WORKDIR / "data.npz")
        inputs = {key: data[key] for key in (*GENERATOR_INPUTS, "sample_id")}
        dataset = tf.data.Dataset.from_tensor_slices((inputs, data["target"]))
        dataset = dataset.batch(GLOBAL_BATCH, drop_remainder=True)
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return dataset.with_options(options)


    def train(strategy, stage, tag):
        with strategy.scope():
            generator, discriminator = build(stage)
            generator.load_weights(WORKDIR / "generator.weights.h5")
            if discriminator is not None:
                discriminator.load_weights(WORKDIR / "discriminator.weights.h5")
            trainer = RecordingTrainer(generator, discriminator, adversarial="bce")
            trainer.record = str(WORKDIR / f"{tag}_stage{stage}_ids.txt")
            trainer.compile(
                generator_optimizer=keras.optimizers.SGD(GENERATOR_LEARNING_RATE),
                discriminator_optimizer=keras.optimizers.SGD(DISCRIMINATOR_LEARNING_RATE),
                reconstruction_loss="l1",
                jit_compile=False,
            )
        results = {}
        if MODE == "worker":
            # Keras' fit fails under a multi-worker strategy (see the test module): run
            # the trainer's train_step the way fit does.
            @tf.function
            def step(batch):
                return strategy.run(trainer.train_step, args=(batch,))

            batches = iter(strategy.experimental_distribute_dataset(global_batches()))
            for _ in range(STEPS):
                logs = step(next(batches))
            for name, value in logs.items():  # this worker's replica: its half-batches
                results[f"local/{name}"] = strategy.experimental_local_results(value)[0]
            # Read in cross-replica context, the metrics sum over all replicas.
            metrics = {metric.name: metric.result() for metric in trainer.metrics}
        else:
            history = trainer.fit(
                global_batches(), epochs=1, steps_per_epoch=STEPS, shuffle=False, verbose=0
            )
            metrics = {name: values[-1] for name, values in history.history.items()}
        results.update({f"metric/{name}": value for name, value in metrics.items()})
        for index, weight in enumerate(generator.get_weights()):
            results[f"generator/{index}"] = weight
        if discriminator is not None:
            for index, weight in enumerate(discriminator.get_weights()):
                results[f"discriminator/{index}"] = weight
        results["replicas"] = strategy.num_replicas_in_sync
        np.savez(WORKDIR / f"{tag}_stage{stage}.npz", **results)


    if MODE == "reference":
        clips = read_posewarp_dataset(sys.argv[3])
        pairs = pair_dataset(clips, 64, batch_size=GLOBAL_BATCH, augmentation=None, seed=0)
        batches = list(pairs.take(STEPS).as_numpy_iterator())
        data = {key: np.concatenate([b[0][key] for b in batches]) for key in GENERATOR_INPUTS}
        data["target"] = np.concatenate([b[1] for b in batches])
        data["sample_id"] = np.arange(GLOBAL_BATCH * STEPS)
        np.savez(WORKDIR / "data.npz", **data)
        keras.utils.set_random_seed(0)
        generator, discriminator = build(2)
        generator.save_weights(WORKDIR / "generator.weights.h5")
        discriminator.save_weights(WORKDIR / "discriminator.weights.h5")
        initial = {f"generator/{i}": w for i, w in enumerate(generator.get_weights())}
        initial.update(
            {f"discriminator/{i}": w for i, w in enumerate(discriminator.get_weights())}
        )
        np.savez(WORKDIR / "initial.npz", **initial)
        for stage in (1, 2):
            train(tf.distribute.get_strategy(), stage, "reference")
    elif MODE == "mirrored":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        for stage in (1, 2):
            train(strategy, stage, "mirrored")
    elif MODE == "worker":
        index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
        communication = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING,
            timeout_seconds=120,
        )
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=communication
        )
        train(strategy, 1, f"worker{index}")
    else:
        raise SystemExit(f"unknown mode {MODE!r}")
    print("OK", MODE)
    '''
)


def _environment(**extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", **extra}
    if "TF_CONFIG" not in extra:
        env.pop("TF_CONFIG", None)
    return env


def _run_script(workdir, mode, *args):
    script = workdir / "train.py"
    script.write_text(SCRIPT)
    try:
        result = subprocess.run(
            [sys.executable, str(script), mode, str(workdir), *map(str, args)],
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        stderr = error.stderr or b""
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
        pytest.fail(f"the {mode} run took more than {TIMEOUT} s:\n{_without_absl_info(stderr)}")
    assert result.returncode == 0 and f"OK {mode}" in result.stdout, (
        f"the {mode} run failed:\n{result.stdout[-2000:]}\n"
        + _without_absl_info(result.stderr)[-4000:]
    )


def _load(path):
    with np.load(path) as contents:
        return {key: contents[key] for key in contents.files}


def _recorded_ids(path):
    """{replica: [sample ids of step 1, of step 2, ...]} as written by RecordingTrainer."""
    seen = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"replica (\d+) ids \[([\d ]*)\]", line.strip())
        assert match, f"{path.name}: unexpected line {line!r}"
        seen.setdefault(int(match[1]), []).append([int(i) for i in match[2].split()])
    return seen


def _expected_ids(replicas):
    """Replica r's step s: the r-th 1/replicas of the s-th global batch."""
    size = GLOBAL_BATCH // replicas
    starts = {r: [s * GLOBAL_BATCH + r * size for s in range(STEPS)] for r in range(replicas)}
    return {r: [list(range(start, start + size)) for start in starts[r]] for r in starts}


def _max_difference(a, b, prefix):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a if k.startswith(prefix))


def _assert_same_training(actual, reference, initial, label):
    """The weights of every model and the metrics match the single-device run."""
    models = [
        p for p in ("generator/", "discriminator/") if any(k.startswith(p) for k in reference)
    ]
    assert models
    for prefix in models:
        keys = [k for k in reference if k.startswith(prefix)]
        assert sorted(keys) == sorted(k for k in actual if k.startswith(prefix))
        update = _max_difference({k: reference[k] for k in keys}, initial, prefix)
        assert update > MIN_UPDATE, f"{prefix[:-1]} barely trained ({update}): insensitive"
        for key in keys:
            np.testing.assert_allclose(
                actual[key], reference[key], rtol=RTOL, atol=ATOL, err_msg=f"{label}: {key}"
            )
    metrics = sorted(k for k in reference if k.startswith("metric/"))
    assert metrics and metrics == sorted(k for k in actual if k.startswith("metric/"))
    for key in metrics:
        np.testing.assert_allclose(
            actual[key], reference[key], rtol=RTOL, atol=ATOL, err_msg=f"{label}: {key}"
        )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tennis_dir):
    """The data, initial weights and single-device results, in a folder."""
    workdir = tmp_path_factory.mktemp("distributed")
    _run_script(workdir, "reference", tennis_dir)
    for stage in (1, 2):
        assert int(_load(workdir / f"reference_stage{stage}.npz")["replicas"]) == 1
        ids = _recorded_ids(workdir / f"reference_stage{stage}_ids.txt")
        assert ids == _expected_ids(1)
    return workdir


@pytest.fixture(scope="module")
def mirrored(reference):
    _run_script(reference, "mirrored")
    return reference


@pytest.mark.parametrize("stage", [1, 2])
def test_mirrored_strategy_matches_one_device_on_the_same_global_batches(mirrored, stage):
    result = _load(mirrored / f"mirrored_stage{stage}.npz")
    assert int(result["replicas"]) == 2
    # Each replica gets one half of each global batch.
    assert _recorded_ids(mirrored / f"mirrored_stage{stage}_ids.txt") == _expected_ids(2)
    _assert_same_training(
        result,
        _load(mirrored / f"reference_stage{stage}.npz"),
        _load(mirrored / "initial.npz"),
        f"MirroredStrategy, stage {stage}",
    )


def _free_loopback_ports(count):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _without_absl_info(text):
    """`text` less TensorFlow's start-up info lines (printed whatever TF_CPP_MIN_LOG_LEVEL)."""
    noise = re.compile(r"I\d{4} |WARNING: All log messages before absl")
    return "\n".join(line for line in text.splitlines() if not noise.match(line))


def _tail(path, characters=4000):
    text = path.read_text(errors="replace") if path.exists() else ""
    return _without_absl_info(text)[-characters:]


def _run_workers(workdir, count=2):
    """Runs `count` workers of one cluster on loopback; fails with their output."""
    script = workdir / "train.py"
    script.write_text(SCRIPT)
    addresses = [f"127.0.0.1:{port}" for port in _free_loopback_ports(count)]
    workers, files = [], []
    try:
        for index in range(count):
            config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            stdout = open(workdir / f"worker{index}.out", "w")
            stderr = open(workdir / f"worker{index}.err", "w")
            files += [stdout, stderr]
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(script), "worker", str(workdir)],
                    stdout=stdout,
                    stderr=stderr,
                    env=_environment(TF_CONFIG=json.dumps(config)),
                )
            )
        # Wait for all; stop at the first failure (the others would wait for it).
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            codes = [worker.poll() for worker in workers]
            if None not in codes or any(code not in (None, 0) for code in codes):
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        for file in files:
            file.close()
    failures = []
    for index, worker in enumerate(workers):
        out = _tail(workdir / f"worker{index}.out", 2000)
        if worker.returncode == 0 and "OK worker" in out:
            continue
        killed = worker.returncode < 0
        reason = f"killed after {TIMEOUT} s or its peer's failure" if killed else "failed"
        failures.append(
            (
                killed,
                f"worker {index} {reason} (exit code {worker.returncode});\n"
                f"stdout:\n{out}\nstderr:\n{_tail(workdir / f'worker{index}.err')}",
            )
        )
    # The workers that failed by themselves first.
    assert not failures, "\n\n".join(message for _, message in sorted(failures))


def test_multi_worker_mirrored_strategy_matches_one_device_on_the_same_global_batches(
    reference,
):
    workdir = reference
    _run_workers(workdir)

    results = [_load(workdir / f"worker{index}_stage1.npz") for index in range(2)]
    expected_ids = _expected_ids(2)
    for index, result in enumerate(results):
        assert int(result["replicas"]) == 2
        # DATA sharding: worker i's replica (i) gets the i-th half of each global batch.
        assert _recorded_ids(workdir / f"worker{index}_stage1_ids.txt") == {
            index: expected_ids[index]
        }
    first, second = results
    for key in first:
        if key.startswith(("generator/", "metric/")):
            np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    single = _load(workdir / "reference_stage1.npz")
    _assert_same_training(
        first, single, _load(workdir / "initial.npz"), "MultiWorkerMirroredStrategy"
    )
    # Each worker's own step outputs: the means over its halves; together, the global ones.
    for key in (k for k in single if k.startswith("metric/")):
        local = [float(result["local/" + key.removeprefix("metric/")]) for result in results]
        assert local[0] != local[1]
        np.testing.assert_allclose(np.mean(local), single[key], rtol=RTOL, atol=ATOL)
