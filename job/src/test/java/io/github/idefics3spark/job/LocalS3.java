package io.github.idefics3spark.job;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.spark.sql.SparkSession;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A loopback S3 server for the tests: S3Proxy over an in-memory jclouds blob store holding one
 * bucket, {@code bucket}, taking requests signed with one access key and secret; and the local
 * Spark session that reads and writes it through S3A with the project's {@code
 * conf/spark-defaults-s3.conf}.
 */
final class LocalS3 implements AutoCloseable {
  private final String accessKey;
  private final String secretKey;
  private final BlobStoreContext blobs;
  private final S3Proxy s3;

  private LocalS3(String accessKey, String secretKey, BlobStoreContext blobs, S3Proxy s3) {
    this.accessKey = accessKey;
    this.secretKey = secretKey;
    this.blobs = blobs;
    this.s3 = s3;
  }

  /** Starts the server on a free loopback port, {@code bucket} empty, and waits until it serves. */
  static LocalS3 start(String accessKey, String secretKey) throws Exception {
    BlobStoreContext blobs =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    blobs.getBlobStore().createContainerInLocation(null, "bucket");
    S3Proxy s3 =
        S3Proxy.builder()
            .blobStore(blobs.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
            // the SDK's CRC32 checksum headers, which S3Proxy 3.0.0 does not know
            .ignoreUnknownHeaders(true)
            .build();
    LocalS3 server = new LocalS3(accessKey, secretKey, blobs, s3);
    try {
      s3.start();
      for (int i = 0; i < 500 && !"STARTED".equals(s3.getState()); i++) {
        Thread.sleep(10);
      }
    } catch (Exception e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** The server's state: {@code STARTED} once it serves. */
  String state() {
    return s3.getState();
  }

  /** The loopback port it listens on. */
  int port() {
    return s3.getPort();
  }

  /**
   * A local Spark session (local[2], no UI) with {@code conf/spark-defaults-s3.conf}, whose S3A
   * reaches the loopback {@code port} (this server's, or that of a proxy in front of it) path-style
   * without TLS, in region us-east-1, with this server's key and secret; the caller names the
   * credentials provider, and anything else, before {@code getOrCreate}.
   */
  SparkSession.Builder sparkSession(String appName, int port) throws IOException {
    SparkSession.Builder builder =
        SparkSession.builder()
            .appName(appName)
            .master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1");
    Properties defaults = new Properties();
    try (Reader reader = Files.newBufferedReader(Path.of("..", "conf", "spark-defaults-s3.conf"))) {
      defaults.load(reader);
    }
    for (String key : defaults.stringPropertyNames()) {
      builder = builder.config(key, defaults.getProperty(key));
    }
    return builder
        .config("spark.hadoop.fs.s3a.endpoint", "http://127.0.0.1:" + port)
        .config("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")
        .config("spark.hadoop.fs.s3a.path.style.access", "true")
        .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
        .config("spark.hadoop.fs.s3a.access.key", accessKey)
        .config("spark.hadoop.fs.s3a.secret.key", secretKey);
  }

  /** Stops the server and drops the blob store. */
  @Override
  public void close() throws Exception {
    try {
      s3.stop();
    } finally {
      blobs.close();
    }
  }
}
