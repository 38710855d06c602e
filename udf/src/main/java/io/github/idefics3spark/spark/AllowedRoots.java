package io.github.idefics3spark.spark;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The folders where the image paths rows name may lie (the input's folder and {@code
 * --allow-path-prefix}), so a shared manifest cannot read the executor's own files.
 *
 * <p>A path is compared qualified (scheme, authority, {@code ..} resolved). A local ({@code file:})
 * path is compared by its real path: symbolic links of the path and of the roots resolved, so a
 * link inside an allowed folder that leads to {@code /etc} is refused, and the file read is the
 * real path that was checked, not the link. (A link swapped between the check and the read, or a
 * hard link, is not caught: give roots that untrusted users cannot write into.)
 */
final class AllowedRoots {
  private final List<URI> roots;
  private final List<URI> realRoots;

  private AllowedRoots(List<URI> roots, List<URI> realRoots) {
    this.roots = roots;
    this.realRoots = realRoots;
  }

  /** The roots {@code folders} (paths or URIs), qualified by their file systems. */
  static AllowedRoots of(List<String> folders, Configuration conf) throws IOException {
    List<URI> roots = new ArrayList<>(folders.size());
    List<URI> realRoots = new ArrayList<>(folders.size());
    for (String folder : folders) {
      Path path = new Path(folder);
      URI root = path.getFileSystem(conf).makeQualified(path).toUri().normalize();
      roots.add(root);
      realRoots.add(isLocal(root) ? realPath(root) : root);
    }
    return new AllowedRoots(List.copyOf(roots), List.copyOf(realRoots));
  }

  /**
   * The path to read for {@code file} (qualified): itself, or for a local file its real path.
   *
   * @throws IOException naming the roots and {@code --allow-path-prefix} when it lies outside them
   */
  Path check(Path file) throws IOException {
    URI uri = file.toUri().normalize();
    if (isLocal(uri)) {
      URI real = realPath(uri);
      for (URI root : realRoots) {
        if (within(real, root)) {
          return new Path(real);
        }
      }
      throw new IOException(
          "it is outside the allowed roots "
              + roots
              + (within(uri, roots) ? " once symbolic links are resolved" : "")
              + " (the input's folder and --allow-path-prefix); add its real folder to"
              + " --allow-path-prefix to read it");
    }
    if (within(uri, roots)) {
      return file;
    }
    throw new IOException(
        "it is outside the allowed roots "
            + roots
            + " (the input's folder and --allow-path-prefix); add its folder to"
            + " --allow-path-prefix to read it");
  }

  private static boolean within(URI uri, List<URI> roots) {
    for (URI root : roots) {
      if (within(uri, root)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code uri} is {@code root} or under it: same scheme and authority, path prefix. */
  static boolean within(URI uri, URI root) {
    if (!Objects.equals(lower(uri.getScheme()), lower(root.getScheme()))
        || !Objects.equals(uri.getAuthority(), root.getAuthority())) {
      return false;
    }
    String path = uri.getPath();
    String rootPath = root.getPath();
    if (path == null || rootPath == null || path.contains("/../") || path.endsWith("/..")) {
      return false;
    }
    String prefix = rootPath.endsWith("/") ? rootPath : rootPath + "/";
    return path.equals(rootPath) || path.startsWith(prefix);
  }

  private static boolean isLocal(URI uri) {
    return "file".equalsIgnoreCase(uri.getScheme());
  }

  /**
   * The real path of a local {@code file:} URI: its longest existing part with every symbolic link
   * resolved, followed by the rest (which, not existing, holds no link).
   */
  private static URI realPath(URI uri) throws IOException {
    java.nio.file.Path local = Paths.get(uri).normalize();
    java.nio.file.Path existing = local;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return local.toUri();
    }
    return existing.toRealPath().resolve(existing.relativize(local)).toUri();
  }

  private static String lower(String text) {
    return text == null ? null : text.toLowerCase(Locale.ROOT);
  }
}
