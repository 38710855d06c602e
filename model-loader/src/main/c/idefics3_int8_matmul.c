/*
 * Idefics3Int8MatMul: a TensorFlow CPU op that multiplies float32 rows by an int8 weight matrix
 * with one float32 scale per output channel, dequantising the weights in registers, so that a
 * decode step reads a quarter of fp32's bytes of weights (TensorFlow 2.18's CPU build has no
 * kernel that multiplies float activations by int8 weights without first writing them out as
 * float32; tools/bench/java/Int8MatMulBench.java measures those).
 *
 *   y = (x @ q) * scale            transpose_b = false: q (K, N), the layout of an nn.Linear
 *                                                        weight as packages store it
 *   y = (x @ q^T) * scale          transpose_b = true:  q (N, K), the token embeddings as a
 *                                                        tied lm_head
 *   x (M, K) float32, q int8, scale (N) float32, y (M, N) float32
 *
 * Registered through TensorFlow's C API (tensorflow/c/ops.h, tensorflow/c/kernels.h), whose few
 * functions this file declares itself, so it builds with a C compiler alone; it is built against
 * and loaded into TensorFlow Java 1.1.0's libtensorflow_framework (TensorFlow 2.18), whose
 * TensorFlow.loadLibrary the Java side (tf.Int8Kernel) calls before it loads a package that uses
 * the op. Built by tools/native/build.sh.
 *
 * Kernels: AVX-512 (F, BW, VL) where the CPU has it, else portable C that the compiler
 * vectorises for AVX2 or SSE2 (chosen at load; IDEFICS3_INT8_KERNEL=portable forces those). Few
 * rows (a decode step's batch) stream the int8 weights once per group of 4 rows, converting each
 * 64 bytes to four vectors of 16 floats that every row of the group multiplies; many rows convert
 * a panel of 64 output columns to float32 (scaled) once, then multiply every row by it. One
 * thread a call: TensorFlow's inter-op threads run independent products at once.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the subset of TensorFlow's C API used here (the headers in tensorflow/c) ---- */
typedef struct TF_Status TF_Status;
typedef struct TF_Tensor TF_Tensor;
typedef struct TF_OpKernelContext TF_OpKernelContext;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef unsigned char TF_Bool;
typedef enum TF_DataType { TF_FLOAT = 1, TF_INT8 = 6 } TF_DataType;
typedef enum TF_Code { TF_OK = 0, TF_INVALID_ARGUMENT = 3 } TF_Code;

extern TF_Status* TF_NewStatus(void);
extern void TF_DeleteStatus(TF_Status*);
extern TF_Code TF_GetCode(const TF_Status*);
extern void TF_SetStatus(TF_Status*, TF_Code, const char*);
extern void* TF_TensorData(const TF_Tensor*);
extern int TF_NumDims(const TF_Tensor*);
extern int64_t TF_Dim(const TF_Tensor*, int);
extern void TF_DeleteTensor(TF_Tensor*);
extern void TF_GetInput(TF_OpKernelContext*, int, TF_Tensor**, TF_Status*);
extern TF_Tensor* TF_AllocateOutput(TF_OpKernelContext*, int, TF_DataType, const int64_t*, int,
                                    size_t, TF_Status*);
extern void TF_OpKernelContext_Failure(TF_OpKernelContext*, TF_Status*);
extern void TF_OpKernelConstruction_Failure(TF_OpKernelConstruction*, TF_Status*);
extern void TF_OpKernelConstruction_GetAttrBool(TF_OpKernelConstruction*, const char*, TF_Bool*,
                                                TF_Status*);
extern TF_KernelBuilder* TF_NewKernelBuilder(const char*, const char*,
                                             void* (*)(TF_OpKernelConstruction*),
                                             void (*)(void*, TF_OpKernelContext*),
                                             void (*)(void*));
extern void TF_RegisterKernelBuilder(const char*, TF_KernelBuilder*, TF_Status*);
extern TF_OpDefinitionBuilder* TF_NewOpDefinitionBuilder(const char*);
extern void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder*, const char*);
extern void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder*, const char*);
extern void TF_OpDefinitionBuilderAddAttr(TF_OpDefinitionBuilder*, const char*);
extern void TF_OpDefinitionBuilderSetShapeInferenceFunction(
    TF_OpDefinitionBuilder*, void (*)(TF_ShapeInferenceContext*, TF_Status*));
extern void TF_RegisterOpDefinition(TF_OpDefinitionBuilder*, TF_Status*);
extern TF_ShapeHandle* TF_NewShapeHandle(void);
extern void TF_DeleteShapeHandle(TF_ShapeHandle*);
extern void TF_ShapeInferenceContextGetInput(TF_ShapeInferenceContext*, int, TF_ShapeHandle*,
                                             TF_Status*);
extern void TF_ShapeInferenceContextWithRank(TF_ShapeInferenceContext*, TF_ShapeHandle*, int64_t,
                                             TF_ShapeHandle*, TF_Status*);
extern void TF_ShapeInferenceContextSubshape(TF_ShapeInferenceContext*, TF_ShapeHandle*, int64_t,
                                             int64_t, TF_ShapeHandle*, TF_Status*);
extern void TF_ShapeInferenceContextConcatenateShapes(TF_ShapeInferenceContext*, TF_ShapeHandle*,
                                                      TF_ShapeHandle*, TF_ShapeHandle*,
                                                      TF_Status*);
extern void TF_ShapeInferenceContextSetOutput(TF_ShapeInferenceContext*, int, TF_ShapeHandle*,
                                              TF_Status*);

/* Rows at or below this many take the streaming kernels; more take the panel kernel. */
#define FEW_ROWS 8
/* Output columns a panel holds: four vectors of 16 floats. */
#define PANEL 64
/*
 * How far ahead the streaming kernels ask the cache for weights: rows of q (K, N), whose 64-byte
 * blocks lie N bytes apart, and bytes of q (N, K), which is read in order. Measured on the build
 * machine (tools/native/README.md): 64 rows ahead read 135 MB of int8 weights a step 1.4x faster
 * than 8 rows.
 */
#define PREFETCH_ROWS 64
#define PREFETCH_BYTES 4096

/* ---- portable kernels (the compiler vectorises the inner loops) ---- */

__attribute__((target_clones("arch=x86-64-v3", "default")))
static void kn_portable(const float* x, const int8_t* q, const float* scale, float* y, int64_t m,
                        int64_t k, int64_t n) {
  for (int64_t r = 0; r < m; r++) {
    float* out = y + r * n;
    memset(out, 0, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < k; i++) {
      const float xi = x[r * k + i];
      const int8_t* row = q + i * n;
      for (int64_t j = 0; j < n; j++) out[j] += xi * (float)row[j];
    }
    for (int64_t j = 0; j < n; j++) out[j] *= scale[j];
  }
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
static void nk_portable(const float* x, const int8_t* q, const float* scale, float* y, int64_t m,
                        int64_t k, int64_t n) {
  for (int64_t r = 0; r < m; r++) {
    const float* xr = x + r * k;
    for (int64_t j = 0; j < n; j++) {
      const int8_t* row = q + j * k;
      /* 16 partial sums, one a lane, so that the compiler may vectorise the products without
         reordering a float sum */
      float part[16] = {0};
      int64_t i = 0;
      for (; i + 16 <= k; i += 16)
        for (int l = 0; l < 16; l++) part[l] += xr[i + l] * (float)row[i + l];
      float sum = 0.0f;
      for (int l = 0; l < 16; l++) sum += part[l];
      for (; i < k; i++) sum += xr[i] * (float)row[i];
      y[r * n + j] = sum * scale[j];
    }
  }
}

/* ---- AVX-512 kernels ---- */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* Lanes of the 16-wide vector j of a 64-column block starting at column n0 that lie below n. */
AVX512 static inline __mmask16 lanes(int64_t n0, int j, int64_t n) {
  int64_t left = n - n0 - 16 * j;
  return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

AVX512 static inline __m512 int8_to_float(const int8_t* p, __mmask16 mask) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p)));
}

/*
 * q (K, N), rows [r0, r0 + ROWS) with ROWS <= 4, columns [n0, n0 + 64): each 64 bytes of q are
 * read once and converted once for all the group's rows. ROWS is a literal at every use, so the
 * compiler unrolls the row loops; MASK(j) is the lanes of vector j (a constant but in the last,
 * partial block).
 */
#define KN_GROUP(ROWS, MASK)                                                                 \
  do {                                                                                       \
    __m512 acc[ROWS][4];                                                                     \
    for (int r = 0; r < ROWS; r++)                                                           \
      for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();                           \
    const int8_t* qk = q + n0;                                                               \
    const float* xr = x + r0 * k;                                                            \
    for (int64_t i = 0; i < k; i++, qk += n) {                                               \
      _mm_prefetch((const char*)(qk + PREFETCH_ROWS * n), _MM_HINT_T0);                      \
      __m512 w[4];                                                                           \
      for (int j = 0; j < 4; j++) w[j] = int8_to_float(qk + 16 * j, MASK(j));                \
      for (int r = 0; r < ROWS; r++) {                                                       \
        __m512 xi = _mm512_set1_ps(xr[r * k + i]);                                           \
        for (int j = 0; j < 4; j++) acc[r][j] = _mm512_fmadd_ps(xi, w[j], acc[r][j]);        \
      }                                                                                      \
    }                                                                                        \
    for (int r = 0; r < ROWS; r++)                                                           \
      for (int j = 0; j < 4; j++)                                                            \
        _mm512_mask_storeu_ps(y + (r0 + r) * n + n0 + 16 * j, MASK(j),                       \
                              _mm512_mul_ps(acc[r][j], _mm512_maskz_loadu_ps(                \
                                                           MASK(j), scale + n0 + 16 * j)));  \
  } while (0)

#define KN_ROWS(MASK)                                          \
  do {                                                         \
    for (int64_t r0 = 0; r0 < m; r0 += 4) {                    \
      switch (m - r0 >= 4 ? 4 : (int)(m - r0)) {               \
        case 4: KN_GROUP(4, MASK); break;                      \
        case 3: KN_GROUP(3, MASK); break;                      \
        case 2: KN_GROUP(2, MASK); break;                      \
        default: KN_GROUP(1, MASK); break;                     \
      }                                                        \
    }                                                          \
  } while (0)

#define ALL_LANES(j) ((__mmask16)0xFFFF)
#define LAST_LANES(j) (last[j])

AVX512 static void kn_few_avx512(const float* x, const int8_t* q, const float* scale, float* y,
                                 int64_t m, int64_t k, int64_t n) {
  int64_t n0 = 0;
  for (; n0 + PANEL <= n; n0 += PANEL) KN_ROWS(ALL_LANES);
  if (n0 < n) {
    __mmask16 last[4];
    for (int j = 0; j < 4; j++) last[j] = lanes(n0, j, n);
    KN_ROWS(LAST_LANES);
  }
}

/*
 * q (N, K): four output columns (rows of q) against up to four rows of x at once, 16 products
 * along K per vector, summed across the vector at the end.
 */
#define NK_STEP(COLS, ROWS, MASK)                                                            \
  do {                                                                                       \
    __m512 w[COLS];                                                                          \
    _mm_prefetch((const char*)(q + j0 * k + COLS * i + PREFETCH_BYTES), _MM_HINT_T0);         \
    for (int c = 0; c < COLS; c++) w[c] = int8_to_float(q + (j0 + c) * k + i, MASK);         \
    for (int r = 0; r < ROWS; r++) {                                                         \
      __m512 xv = _mm512_maskz_loadu_ps(MASK, x + (r0 + r) * k + i);                         \
      for (int c = 0; c < COLS; c++) acc[c][r] = _mm512_fmadd_ps(w[c], xv, acc[c][r]);       \
    }                                                                                        \
  } while (0)

#define NK_GROUP(COLS, ROWS)                                                                 \
  do {                                                                                       \
    __m512 acc[COLS][ROWS];                                                                  \
    for (int c = 0; c < COLS; c++)                                                           \
      for (int r = 0; r < ROWS; r++) acc[c][r] = _mm512_setzero_ps();                        \
    int64_t i = 0;                                                                           \
    for (; i + 16 <= k; i += 16) NK_STEP(COLS, ROWS, (__mmask16)0xFFFF);                     \
    if (i < k) NK_STEP(COLS, ROWS, (__mmask16)((1u << (k - i)) - 1));                        \
    for (int c = 0; c < COLS; c++)                                                           \
      for (int r = 0; r < ROWS; r++)                                                         \
        y[(r0 + r) * n + j0 + c] = _mm512_reduce_add_ps(acc[c][r]) * scale[j0 + c];          \
  } while (0)

#define NK_ROWS(COLS)                                         \
  do {                                                        \
    for (int64_t r0 = 0; r0 < m; r0 += 4) {                   \
      switch (m - r0 >= 4 ? 4 : (int)(m - r0)) {              \
        case 4: NK_GROUP(COLS, 4); break;                     \
        case 3: NK_GROUP(COLS, 3); break;                     \
        case 2: NK_GROUP(COLS, 2); break;                     \
        default: NK_GROUP(COLS, 1); break;                    \
      }                                                       \
    }                                                         \
  } while (0)

AVX512 static void nk_few_avx512(const float* x, const int8_t* q, const float* scale, float* y,
                                 int64_t m, int64_t k, int64_t n) {
  int64_t j0 = 0;
  for (; j0 + 4 <= n; j0 += 4) NK_ROWS(4);
  for (; j0 < n; j0++) NK_ROWS(1);
}

/*
 * Many rows: the 64 columns [n0, n0 + 64) of q, scaled, as a float32 panel (K, 64), then every
 * row of x times the panel, six rows at a time (24 accumulators).
 */
#define PANEL_GROUP(ROWS)                                                                    \
  do {                                                                                       \
    __m512 acc[ROWS][4];                                                                     \
    for (int r = 0; r < ROWS; r++)                                                           \
      for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();                           \
    const float* xr = x + r0 * k;                                                            \
    for (int64_t i = 0; i < k; i++) {                                                        \
      const float* p = panel + i * PANEL;                                                    \
      __m512 w0 = _mm512_load_ps(p), w1 = _mm512_load_ps(p + 16);                            \
      __m512 w2 = _mm512_load_ps(p + 32), w3 = _mm512_load_ps(p + 48);                       \
      for (int r = 0; r < ROWS; r++) {                                                       \
        __m512 xi = _mm512_set1_ps(xr[r * k + i]);                                           \
        acc[r][0] = _mm512_fmadd_ps(xi, w0, acc[r][0]);                                      \
        acc[r][1] = _mm512_fmadd_ps(xi, w1, acc[r][1]);                                      \
        acc[r][2] = _mm512_fmadd_ps(xi, w2, acc[r][2]);                                      \
        acc[r][3] = _mm512_fmadd_ps(xi, w3, acc[r][3]);                                      \
      }                                                                                      \
    }                                                                                        \
    for (int r = 0; r < ROWS; r++)                                                           \
      for (int j = 0; j < 4; j++)                                                            \
        _mm512_mask_storeu_ps(y + (r0 + r) * n + n0 + 16 * j, mask[j], acc[r][j]);           \
  } while (0)

AVX512 static int many_avx512(const float* x, const int8_t* q, const float* scale, float* y,
                              int64_t m, int64_t k, int64_t n, int transpose_b) {
  float* panel = aligned_alloc(64, (size_t)k * PANEL * sizeof(float));
  if (panel == NULL) return 0;
  for (int64_t n0 = 0; n0 < n; n0 += PANEL) {
    __mmask16 mask[4];
    for (int j = 0; j < 4; j++) mask[j] = lanes(n0, j, n);
    int64_t width = n - n0 < PANEL ? n - n0 : PANEL;
    if (transpose_b) {
      memset(panel, 0, (size_t)k * PANEL * sizeof(float));
      for (int64_t c = 0; c < width; c++) {
        const int8_t* row = q + (n0 + c) * k;
        float sc = scale[n0 + c];
        for (int64_t i = 0; i < k; i++) panel[i * PANEL + c] = (float)row[i] * sc;
      }
    } else {
      __m512 s[4];
      for (int j = 0; j < 4; j++) s[j] = _mm512_maskz_loadu_ps(mask[j], scale + n0 + 16 * j);
      for (int64_t i = 0; i < k; i++)
        for (int j = 0; j < 4; j++)
          _mm512_store_ps(panel + i * PANEL + 16 * j,
                          _mm512_mul_ps(int8_to_float(q + i * n + n0 + 16 * j, mask[j]), s[j]));
    }
    int64_t r0 = 0;
    for (; r0 + 6 <= m; r0 += 6) PANEL_GROUP(6);
    switch ((int)(m - r0)) {
      case 5: PANEL_GROUP(5); break;
      case 4: PANEL_GROUP(4); break;
      case 3: PANEL_GROUP(3); break;
      case 2: PANEL_GROUP(2); break;
      case 1: PANEL_GROUP(1); break;
      default: break;
    }
  }
  free(panel);
  return 1;
}

static int has_avx512;

/* y (m, n) = x (m, k) times q dequantised; 0 when memory for a panel could not be had. */
static int multiply(const float* x, const int8_t* q, const float* scale, float* y, int64_t m,
                    int64_t k, int64_t n, int transpose_b) {
  if (!has_avx512) {
    (transpose_b ? nk_portable : kn_portable)(x, q, scale, y, m, k, n);
    return 1;
  }
  if (m > FEW_ROWS) return many_avx512(x, q, scale, y, m, k, n, transpose_b);
  (transpose_b ? nk_few_avx512 : kn_few_avx512)(x, q, scale, y, m, k, n);
  return 1;
}

/* ---- the op ---- */

#define OP_NAME "Idefics3Int8MatMul"

typedef struct {
  TF_Bool transpose_b;
} Kernel;

static void* create_kernel(TF_OpKernelConstruction* ctx) {
  Kernel* kernel = calloc(1, sizeof(Kernel));
  TF_Status* status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrBool(ctx, "transpose_b", &kernel->transpose_b, status);
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(ctx, status);
  TF_DeleteStatus(status);
  return kernel;
}

static void delete_kernel(void* kernel) { free(kernel); }

static void compute(void* opaque, TF_OpKernelContext* ctx) {
  const Kernel* kernel = opaque;
  TF_Status* status = TF_NewStatus();
  TF_Tensor* x = NULL;
  TF_Tensor* q = NULL;
  TF_Tensor* scale = NULL;
  TF_Tensor* y = NULL;
  char message[256];
  TF_GetInput(ctx, 0, &x, status);
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 1, &q, status);
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 2, &scale, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (TF_NumDims(x) != 2 || TF_NumDims(q) != 2 || TF_NumDims(scale) != 1) {
    snprintf(message, sizeof message,
             OP_NAME " takes x (rows, in), q a matrix and scale a vector; got ranks %d, %d, %d",
             TF_NumDims(x), TF_NumDims(q), TF_NumDims(scale));
    TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
    goto done;
  }
  int64_t m = TF_Dim(x, 0), k = TF_Dim(x, 1);
  int64_t qk = TF_Dim(q, kernel->transpose_b ? 1 : 0);
  int64_t n = TF_Dim(q, kernel->transpose_b ? 0 : 1);
  if (qk != k || TF_Dim(scale, 0) != n) {
    snprintf(message, sizeof message,
             OP_NAME ": x has %lld inputs, q (%lld, %lld) with transpose_b %d, scale %lld"
                     " channels; expected q's inputs %lld and scale's channels its outputs",
             (long long)k, (long long)TF_Dim(q, 0), (long long)TF_Dim(q, 1),
             (int)kernel->transpose_b, (long long)TF_Dim(scale, 0), (long long)k);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
    goto done;
  }
  int64_t dims[2] = {m, n};
  y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 2, (size_t)(m * n) * sizeof(float), status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (m > 0 && n > 0 &&
      !multiply(TF_TensorData(x), TF_TensorData(q), TF_TensorData(scale), TF_TensorData(y), m, k,
                n, kernel->transpose_b)) {
    snprintf(message, sizeof message, OP_NAME ": no memory for a %lld x %d float panel",
             (long long)k, PANEL);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, message);
  }
done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  if (x) TF_DeleteTensor(x);
  if (q) TF_DeleteTensor(q);
  if (scale) TF_DeleteTensor(scale);
  if (y) TF_DeleteTensor(y);
  TF_DeleteStatus(status);
}

/* y's shape: x's rows, scale's channels. */
static void shape(TF_ShapeInferenceContext* ctx, TF_Status* status) {
  TF_ShapeHandle* x = TF_NewShapeHandle();
  TF_ShapeHandle* scale = TF_NewShapeHandle();
  TF_ShapeHandle* rows = TF_NewShapeHandle();
  TF_ShapeHandle* y = TF_NewShapeHandle();
  TF_ShapeInferenceContextGetInput(ctx, 0, x, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(ctx, x, 2, x, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextGetInput(ctx, 2, scale, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextWithRank(ctx, scale, 1, scale, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSubshape(ctx, x, 0, 1, rows, status);
  if (TF_GetCode(status) == TF_OK)
    TF_ShapeInferenceContextConcatenateShapes(ctx, rows, scale, y, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 0, y, status);
  TF_DeleteShapeHandle(x);
  TF_DeleteShapeHandle(scale);
  TF_DeleteShapeHandle(rows);
  TF_DeleteShapeHandle(y);
}

__attribute__((constructor)) static void register_op(void) {
  __builtin_cpu_init();
  /* IDEFICS3_INT8_KERNEL=portable takes the portable kernels on any CPU (Int8KernelTest runs
     them that way in a JVM of their own) */
  const char* choice = getenv("IDEFICS3_INT8_KERNEL");
  int portable = choice != NULL && strcmp(choice, "portable") == 0;
  has_avx512 = !portable && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  TF_Status* status = TF_NewStatus();
  TF_OpDefinitionBuilder* op = TF_NewOpDefinitionBuilder(OP_NAME);
  TF_OpDefinitionBuilderAddInput(op, "x: float");
  TF_OpDefinitionBuilderAddInput(op, "q: int8");
  TF_OpDefinitionBuilderAddInput(op, "scale: float");
  TF_OpDefinitionBuilderAddOutput(op, "y: float");
  TF_OpDefinitionBuilderAddAttr(op, "transpose_b: bool = false");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, &shape);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    TF_KernelBuilder* builder =
        TF_NewKernelBuilder(OP_NAME, "CPU", &create_kernel, &compute, &delete_kernel);
    TF_RegisterKernelBuilder(OP_NAME "Op", builder, status);
  }
  if (TF_GetCode(status) != TF_OK) fprintf(stderr, OP_NAME ": registration failed\n");
  TF_DeleteStatus(status);
}
