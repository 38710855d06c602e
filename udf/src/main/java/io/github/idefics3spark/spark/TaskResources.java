package io.github.idefics3spark.spark;

import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The cores and GPUs Spark gave the running task: {@code spark.task.cpus} and, when the executor
 * has {@code spark.executor.resource.gpu.amount} set, the addresses of the task's GPUs from {@link
 * TaskContext#resources()}.
 *
 * <p>GPU executors need TensorFlow's GPU native library: build with {@code
 * -Dtensorflow.native.classifier=linux-x86_64-gpu} (CUDA 12). The loaded model is shared by every
 * task of the executor JVM and its session is placed on the GPU addresses of the task that loaded
 * it (TensorFlow's {@code gpu_options.visible_device_list}), so give each executor one GPU ({@code
 * spark.executor.resource.gpu.amount=1}): every task of the JVM then has that same GPU. The
 * addresses are those the discovery script reports, as the process sees them (inside a container,
 * the container's numbering).
 *
 * @param cpus the cores the task owns
 * @param gpus the task's GPU addresses, empty on CPU executors
 */
public record TaskResources(int cpus, List<String> gpus) {

  public TaskResources {
    gpus = List.copyOf(gpus);
  }

  /** The running task's resources; outside a task, every core of the machine and no GPU. */
  public static TaskResources current() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return new TaskResources(Runtime.getRuntime().availableProcessors(), List.of());
    }
    ResourceInformation gpu = task.resourcesJMap().get("gpu");
    return new TaskResources(
        Math.max(1, task.cpus()), gpu == null ? List.of() : List.of(gpu.addresses()));
  }
}
