package io.github.idefics3spark.job;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback in front of an HTTP/1.1 server (S3Proxy here) that answers some requests
 * itself with S3's {@code 503 SlowDown} and closes the connection, as an overloaded S3 does; every
 * other request and every response passes through byte for byte (so signatures stay valid). It
 * reads each request's head and body framing (Content-Length or chunked) to count requests on
 * kept-alive connections; which fail is decided by a {@link Rule} over the request's number and
 * line, changeable while it runs.
 */
final class FaultInjectingProxy implements AutoCloseable {
  /** Which requests fail. */
  interface Rule {
    /**
     * @param number the request's number, from 1, over all connections
     * @param requestLine e.g. {@code PUT /bucket/key?partNumber=1 HTTP/1.1}
     */
    boolean fails(long number, String requestLine);
  }

  /** No request fails. */
  static final Rule NONE = (number, line) -> false;

  private final ServerSocket server;
  private final int upstreamPort;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile Rule rule = NONE;

  FaultInjectingProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "fault-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  void rule(Rule rule) {
    this.rule = rule;
  }

  /** Requests seen so far. */
  long requests() {
    return requests.get();
  }

  /** Requests answered with 503 so far. */
  long failed() {
    return failed.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Thread connection = new Thread(() -> serve(client), "fault-proxy-connection");
        connection.setDaemon(true);
        connection.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /** Serves one client connection: request after request until it closes or one is failed. */
  private void serve(Socket client) {
    Socket upstream = null;
    try (client) {
      InputStream in = new BufferedInputStream(client.getInputStream());
      OutputStream out = client.getOutputStream();
      while (true) {
        byte[] head = readHead(in);
        if (head == null) {
          return;
        }
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String line = text.substring(0, text.indexOf("\r\n"));
        long contentLength = 0;
        boolean chunked = false;
        boolean expectContinue = false;
        for (String header : text.split("\r\n")) {
          String lower = header.toLowerCase(Locale.ROOT);
          if (lower.startsWith("content-length:")) {
            contentLength = Long.parseLong(header.substring(15).strip());
          } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
            chunked = true;
          } else if (lower.startsWith("expect:") && lower.contains("100-continue")) {
            expectContinue = true;
          }
        }
        long number = requests.incrementAndGet();
        if (rule.fails(number, line)) {
          failed.incrementAndGet();
          if (!expectContinue) {
            copyBody(in, OutputStream.nullOutputStream(), contentLength, chunked);
          }
          out.write(slowDown(number));
          out.flush();
          return; // Connection: close
        }
        if (upstream == null) {
          upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
          Socket from = upstream;
          Thread responses = new Thread(() -> pump(from, client), "fault-proxy-responses");
          responses.setDaemon(true);
          responses.start();
        }
        OutputStream toServer = upstream.getOutputStream();
        toServer.write(head);
        copyBody(in, toServer, contentLength, chunked);
        toServer.flush();
      }
    } catch (IOException e) {
      // a side closed: the connection ends
    } finally {
      if (upstream != null) {
        try {
          upstream.close();
        } catch (IOException e) {
          // closing
        }
      }
    }
  }

  /** Copies the server's bytes to the client until the server closes. */
  private static void pump(Socket from, Socket to) {
    try {
      from.getInputStream().transferTo(to.getOutputStream());
    } catch (IOException e) {
      // a side closed
    } finally {
      try {
        to.close();
      } catch (IOException e) {
        // closing
      }
    }
  }

  /** The request head through its blank line, or null at the end of the stream. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    int b;
    while ((b = in.read()) >= 0) {
      head.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        return head.toByteArray();
      }
    }
    return null;
  }

  /** Copies one request body, framed by its Content-Length or by chunks. */
  private static void copyBody(InputStream in, OutputStream out, long length, boolean chunked)
      throws IOException {
    if (!chunked) {
      copy(in, out, length);
      return;
    }
    while (true) {
      String sizeLine = readLine(in);
      out.write((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
      int semicolon = sizeLine.indexOf(';');
      long size =
          Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).strip(), 16);
      if (size == 0) {
        String trailer;
        do {
          trailer = readLine(in);
          out.write((trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        } while (!trailer.isEmpty());
        return;
      }
      copy(in, out, size + 2); // the chunk and its CRLF
    }
  }

  private static void copy(InputStream in, OutputStream out, long length) throws IOException {
    byte[] buffer = new byte[8192];
    while (length > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, length));
      if (n < 0) {
        throw new IOException("the client closed mid-body");
      }
      out.write(buffer, 0, n);
      length -= n;
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0 && b != '\n') {
      line.write(b);
    }
    if (b < 0) {
      throw new IOException("the client closed mid-body");
    }
    String text = line.toString(StandardCharsets.ISO_8859_1);
    return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
  }

  /** S3's answer to too many requests, closing the connection. */
  private static byte[] slowDown(long number) {
    String body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please"
            + " reduce your request rate.</Message><RequestId>fault-"
            + number
            + "</RequestId></Error>";
    String response =
        "HTTP/1.1 503 Slow Down\r\n"
            + "Content-Type: application/xml\r\n"
            + "x-amz-request-id: fault-"
            + number
            + "\r\n"
            + "Content-Length: "
            + body.getBytes(StandardCharsets.UTF_8).length
            + "\r\n"
            + "Connection: close\r\n\r\n"
            + body;
    return response.getBytes(StandardCharsets.UTF_8);
  }
}
