# libnuwa — see README.md. `make` builds the libraries and the CLI, `make test` runs every test
# (installing missing Debian packages first), `make bench` times libnuwa against nuwa-pytorch.

VERSION := 0.1.0

ifeq ($(wildcard config.mak),)
# Not configured yet: install what is missing, configure with defaults, then do what was asked.
.DEFAULT_GOAL := all
%: ; @sh tools/deps.sh && ./configure && $(MAKE) --no-print-directory $@
all: ; @sh tools/deps.sh && ./configure && $(MAKE) --no-print-directory all
else

include config.mak

BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DNW_SANITIZE
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif

ARCH := $(shell $(CC) -dumpmachine)
CPPFLAGS := -I. -Iinclude -Ilibnuwa -Itests -Itests/support -DNUWA_BUILDING_LIB
LIB_SRCS := $(filter-out %_tmpl.c,$(wildcard libnuwa/*.c libnuwa/ref/*.c libnuwa/cpu/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# The optimised CPU kernels are one template compiled once per instruction set.
LIB_OBJS += $(BUILD)/obj/libnuwa/cpu/kernels_generic.o $(BUILD)/obj/libnuwa/cpu/train_attn_generic.o
ifneq ($(filter x86_64%,$(ARCH)),)
LIB_OBJS += $(BUILD)/obj/libnuwa/cpu/kernels_avx2.o $(BUILD)/obj/libnuwa/cpu/train_attn_avx2.o
CPPFLAGS += -DNW_HAVE_X86=1
endif
# The CUDA backend: host code in libnuwa/cuda/ (cudnn_conv.c only with cuDNN), device code in
# kernels/*.cu. It is not part of libnuwa.so/.a: it is the module libnuwa-cuda.so.0, the only
# file that links the CUDA libraries, which libnuwa opens at run time (libnuwa/cuda_module.c)
# when a CUDA device is asked for; a CPU-only user never maps cudart, cuBLAS or cuDNN.
CUDA_HOST_SRCS := $(filter-out $(if $(filter yes,$(HAVE_CUDNN)),,libnuwa/cuda/cudnn_conv.c),$(wildcard libnuwa/cuda/*.c))
CU_SRCS := $(wildcard kernels/*.cu)
CU_HDRS := $(wildcard kernels/*.h kernels/*.cuh)
CUDA_OBJS := $(CUDA_HOST_SRCS:%.c=$(BUILD)/obj/%.o) $(CU_SRCS:%.cu=$(BUILD)/obj/%.o)
CUDA_MODULE := $(BUILD)/libnuwa-cuda.so.0
# What the modules take from libnuwa (nw_calloc, nw_free): their own hidden copy.
CUDA_MODULE_HELPERS := $(BUILD)/obj/libnuwa/util.o
# Only nw_cuda_module_api is exported; --no-undefined: everything else resolves inside.
CUDA_MODULE_LDFLAGS := -shared -Wl,--version-script=libnuwa/cuda/module.map -Wl,--no-undefined
NVCCFLAGS := -O3 -std=c++17 -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Wno-unused-parameter \
             $(if $(CUDA_ARCH),-arch=sm_$(CUDA_ARCH))

CLI_SRCS := $(wildcard cli/*.c)
TEST_SRCS := $(wildcard tests/*.c tests/libnuwa/*.c tests/ops/*.c tests/train/*.c tests/support/*.c)
BENCH_SRCS := $(wildcard bench/*.c)

.PHONY: all lib test test-unit test-cli test-cuda bench bench-cuda bench-gpu install uninstall clean distclean deps golden eval demo
all: lib $(BUILD)/nuwa $(if $(filter yes,$(HAVE_CUDA)),$(CUDA_MODULE))
lib: $(BUILD)/libnuwa.a $(BUILD)/libnuwa.so

deps:
	@sh tools/deps.sh

$(BUILD)/obj/%.o: %.c config.mak config.h $(wildcard include/*.h libnuwa/*.h libnuwa/*/*.h) $(CU_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/libnuwa/cuda/%.o: CFLAGS += $(CUDA_CFLAGS)
# where the module loader looks after libnuwa's own directory
$(BUILD)/obj/libnuwa/cuda_module.o: CPPFLAGS += -DNW_CUDA_MODULE_LIBDIR='"$(PREFIX)/lib"'

$(BUILD)/obj/libnuwa/cpu/kernels_generic.o: libnuwa/cpu/kernels_tmpl.c config.mak $(wildcard libnuwa/*.h libnuwa/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O3 -DNW_ISA=generic -c $< -o $@

$(BUILD)/obj/libnuwa/cpu/kernels_avx2.o: libnuwa/cpu/kernels_tmpl.c config.mak $(wildcard libnuwa/*.h libnuwa/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O3 -mavx2 -mfma -DNW_ISA=avx2 -c $< -o $@

$(BUILD)/obj/libnuwa/cpu/train_attn_generic.o: libnuwa/cpu/train_attn_tmpl.c config.mak $(wildcard libnuwa/*.h libnuwa/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O3 -DNW_ISA=generic -c $< -o $@

$(BUILD)/obj/libnuwa/cpu/train_attn_avx2.o: libnuwa/cpu/train_attn_tmpl.c config.mak $(wildcard libnuwa/*.h libnuwa/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O3 -mavx2 -mfma -DNW_ISA=avx2 -c $< -o $@

$(BUILD)/obj/%.o: %.cu config.mak $(CU_HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -I. -Iinclude -Ilibnuwa -c $< -o $@

# The CUDA op tests again, on the CPU emulator of the kernels (tests/cuda/emu/): the .cu files
# compiled as C++, libnuwa/cuda/ without cuDNN, the CUDA runtime and cuBLAS emulated.
EMU := $(BUILD)/emu
EMU_CXXFLAGS := -std=c++17 -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -DNW_CUDA_EMU -Itests/cuda/emu \
                -I. -Iinclude -Ilibnuwa $(CUDA_CFLAGS) $(SAN_FLAGS)
EMU_OBJS := $(CU_SRCS:%.cu=$(EMU)/%.o) $(EMU)/tests/cuda/emu/emu_runtime.o \
            $(patsubst %.c,$(EMU)/%.o,$(filter-out libnuwa/cuda/cudnn_conv.c,$(wildcard libnuwa/cuda/*.c)))
EMU_TEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/cuda/*.c tests/support/*.c))

$(EMU)/kernels/%.o: kernels/%.cu $(CU_HDRS) tests/cuda/emu/emu.h config.mak
	@mkdir -p $(dir $@)
	$(CXX) -x c++ $(EMU_CXXFLAGS) -c $< -o $@

$(EMU)/tests/cuda/emu/%.o: tests/cuda/emu/%.cc tests/cuda/emu/emu.h config.mak
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) -c $< -o $@

$(EMU)/libnuwa/cuda/%.o: libnuwa/cuda/%.c config.mak config.h $(wildcard include/*.h libnuwa/*.h libnuwa/*/*.h) $(CU_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CUDA_CFLAGS) -DNW_CUDA_EMU_BUILD -c $< -o $@

$(BUILD)/nuwa_cuda_emu_tests: $(EMU_TEST_OBJS) $(EMU_OBJS) $(LIB_OBJS)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LIBS) $(CRITERION_LIBS)

# The same module on the emulator, for the loader tests (tests/libnuwa/cuda_module.c): `make
# test` points NUWA_CUDA_MODULE at it.
EMU_MODULE := $(BUILD)/libnuwa-cuda-emu.so
$(EMU_MODULE): $(EMU_OBJS) $(CUDA_MODULE_HELPERS) libnuwa/cuda/module.map
	$(CXX) $(CUDA_MODULE_LDFLAGS) -Wl,-soname,libnuwa-cuda-emu.so $(LDFLAGS) -o $@ $(filter %.o,$^) -lm

$(CUDA_MODULE): $(CUDA_OBJS) $(CUDA_MODULE_HELPERS) libnuwa/cuda/module.map
	$(CC) $(CUDA_MODULE_LDFLAGS) -Wl,-soname,libnuwa-cuda.so.0 $(LDFLAGS) -o $@ $(filter %.o,$^) $(CUDA_LIBS) -lm

# The CUDA op tests on the real backend, linked in statically like the emulator's (they call
# backend.h directly): they skip without a GPU; bench/gpu.sh runs them on one.
$(BUILD)/nuwa_cuda_tests: $(EMU_TEST_OBJS) $(CUDA_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CUDA_LIBS) $(CRITERION_LIBS)

$(BUILD)/libnuwa.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libnuwa.so: $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libnuwa.so.0 $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/nuwa: $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/nuwa_tests: $(TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CRITERION_LIBS)

$(BUILD)/obj/tests/%.o: CFLAGS += $(CRITERION_CFLAGS) -DNUWA_SOURCE_DIR=\"$(CURDIR)\"
$(BUILD)/obj/tests/support/%.o: CFLAGS := $(filter-out $(CRITERION_CFLAGS),$(CFLAGS))

$(BUILD)/bench_vqgan: $(BUILD)/obj/bench/bench_vqgan.o $(BUILD)/obj/tests/support/testutil.o $(BUILD)/obj/tests/support/tensor.o $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench_nuwa: $(BUILD)/obj/bench/bench_nuwa.o $(BUILD)/obj/tests/support/testutil.o $(BUILD)/obj/tests/support/tensor.o $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench_train: $(BUILD)/obj/bench/bench_train.o $(BUILD)/obj/tests/support/testutil.o $(BUILD)/obj/tests/support/tensor.o $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The end-to-end benchmark through nuwa.h on any device (bench/bench_gpu.c; bench/gpu.sh runs it
# with --device cuda): $(BUILD)/bench_gpu --quick --device cpu is a smoke test of a few seconds.
$(BUILD)/bench_gpu: $(BUILD)/obj/bench/bench_gpu.o $(BUILD)/obj/tests/support/testutil.o $(BUILD)/obj/tests/support/tensor.o $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench_cuda: $(BUILD)/obj/bench/bench_cuda.o $(BUILD)/obj/tests/support/tensor.o $(CUDA_OBJS) $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CUDA_LIBS)

$(BUILD)/eval_shapes: $(BUILD)/obj/bench/eval_shapes.o $(BUILD)/libnuwa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The header must stand alone in C99 -pedantic and in C++.
$(BUILD)/header_check: include/nuwa.h
	@mkdir -p $(BUILD)
	printf '#include "nuwa.h"\nint main(void){return nuwa_strerror(0)==0;}\n' > $(BUILD)/header_check.c
	$(CC) -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -fsyntax-only $(BUILD)/header_check.c
	printf '#include "nuwa.h"\nint main(){return nuwa_strerror(0)==nullptr;}\n' > $(BUILD)/header_check.cc
	@if command -v c++ >/dev/null; then c++ -std=c++11 -pedantic -Werror -Wall -Wextra -Iinclude -fsyntax-only $(BUILD)/header_check.cc; fi
	@touch $@

# The loader tests open the emulator module through $NUWA_CUDA_MODULE, and a module of the
# wrong ABI through $NUWA_TEST_WRONG_ABI_MODULE (they skip without them).
CUDA_TEST_BINS := $(BUILD)/nuwa_cuda_tests $(BUILD)/nuwa_cuda_emu_tests $(EMU_MODULE)
WRONG_ABI_MODULE := $(BUILD)/test-wrong-abi-module.so
TEST_ENV := NUWA_TEST_WRONG_ABI_MODULE=$(CURDIR)/$(WRONG_ABI_MODULE) \
            $(if $(filter yes,$(HAVE_CUDA)),NUWA_CUDA_MODULE=$(CURDIR)/$(EMU_MODULE))

$(WRONG_ABI_MODULE): tests/libnuwa/fake_module/wrong_abi.c libnuwa/cuda_module.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared $(LDFLAGS) -o $@ $<

test: deps all $(BUILD)/nuwa_tests $(BUILD)/header_check $(WRONG_ABI_MODULE) $(if $(filter yes,$(HAVE_CUDA)),$(CUDA_TEST_BINS))
	@echo "== unit, op and golden tests"
	cd $(CURDIR) && $(TEST_ENV) $(BUILD)/nuwa_tests -j1
ifeq ($(HAVE_CUDA),yes)
	@echo "== CUDA op tests (they skip without a GPU)"
	$(BUILD)/nuwa_cuda_tests -j1
	@echo "== CUDA op tests on the CPU emulator of the kernels"
	$(BUILD)/nuwa_cuda_emu_tests -j1
endif
	@echo "== CLI tests"
	sh tests/cli.sh $(BUILD)/nuwa
ifneq ($(SANITIZE),1)
	@echo "== FFmpeg integration tests (minimal patched ffmpeg in build/bin-minimal)"
	@sh tools/deps.sh --ffmpeg
	+@FFMPEG_MINIMAL=1 FFMPEG_BIN_DIR=$(CURDIR)/build/bin-minimal sh tools/ffmpeg.sh build
	sh tests/ffmpeg.sh build/bin-minimal/ffmpeg $(BUILD)/nuwa
endif

# The CUDA op tests alone (they skip without a GPU) and the GPU benchmarks (bench-gpu: the whole
# model through nuwa.h, BENCH_DEVICE=cuda by default; bench-cuda: per-op timings); bench/gpu.sh
# runs them all on a GPU machine.
test-cuda: $(BUILD)/nuwa_tests $(WRONG_ABI_MODULE) $(if $(filter yes,$(HAVE_CUDA)),$(CUDA_TEST_BINS))
	$(TEST_ENV) $(BUILD)/nuwa_tests -j1 --filter 'cuda_module/*'
ifeq ($(HAVE_CUDA),yes)
	$(BUILD)/nuwa_cuda_tests -j1
	$(BUILD)/nuwa_cuda_emu_tests -j1
endif

bench-cuda: $(BUILD)/bench_cuda
	$(BUILD)/bench_cuda

BENCH_DEVICE ?= cuda
bench-gpu: $(BUILD)/bench_gpu
	$(BUILD)/bench_gpu --device $(BENCH_DEVICE)

bench: all $(BUILD)/bench_vqgan $(BUILD)/bench_nuwa $(BUILD)/bench_train
	sh bench/run.sh $(BUILD)/bench_vqgan
	sh bench/run_nuwa.sh $(BUILD)/bench_nuwa
	sh bench/run_train.sh $(BUILD)/bench_train

golden:
	sh tools/setup_env.sh && tools/.venv/bin/python tools/make_fixtures.py

# The shipped demo model through the patched ffmpeg (same minimal build as `make test`):
# extends samples/shapes.mkv, generates a clip from a caption, writes a contact sheet; tools/demo.sh.
DEMO_OUT ?= build/demo
demo: deps all
	@sh tools/deps.sh --ffmpeg
	+@FFMPEG_MINIMAL=1 FFMPEG_BIN_DIR=$(CURDIR)/build/bin-minimal sh tools/ffmpeg.sh build
	sh tools/demo.sh build/bin-minimal/ffmpeg $(DEMO_OUT)

# Quality of the demo model on 100 held-out synthetic clips (bench/eval_shapes.c; models/README.md).
EVAL_MODEL ?= models/nuwa-shapes.gguf
PYTHON ?= /usr/bin/python3
eval: all $(BUILD)/eval_shapes
	@test -f $(EVAL_MODEL) || { echo "eval: $(EVAL_MODEL) is missing: train it as models/README.md says"; exit 1; }
	@sh tools/deps.sh python3-numpy
	$(PYTHON) tools/make_shapes.py --split test --count 100 --out $(BUILD)/shapes-test --preview 0
	$(BUILD)/eval_shapes $(EVAL_MODEL) $(BUILD)/shapes-test --clips 100

# FFmpeg with the nuwa and nuwasrc filters (vf_nuwa.c + patches/ffmpeg-<line>/) into build/bin/:
# tools/ffmpeg.sh. Variables: FFMPEG_MINIMAL=1 (fast test build), FFMPEG_VERSION=8.1|7.1|9.0,
# FFMPEG_SOURCE=DIR|TARBALL (no download), FFMPEG_CONFIGURE_FLAGS=... (extra configure options).
# `make patches` (at the end: needs no configure) regenerates patches/ffmpeg-*/.
.PHONY: ffmpeg
ffmpeg: all
	@sh tools/deps.sh --ffmpeg
	+@FFMPEG_VERSION='$(FFMPEG_VERSION)' FFMPEG_SOURCE='$(FFMPEG_SOURCE)' FFMPEG_MINIMAL='$(FFMPEG_MINIMAL)' \
	  FFMPEG_CONFIGURE_FLAGS='$(FFMPEG_CONFIGURE_FLAGS)' sh tools/ffmpeg.sh build

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(BUILD)/libnuwa.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libnuwa.so $(DESTDIR)$(PREFIX)/lib/libnuwa.so.$(VERSION)
	ln -sf libnuwa.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libnuwa.so.0
	ln -sf libnuwa.so.0 $(DESTDIR)$(PREFIX)/lib/libnuwa.so
	install -m 644 include/nuwa.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BUILD)/nuwa $(DESTDIR)$(PREFIX)/bin/
ifeq ($(HAVE_CUDA),yes)
	install -m 755 $(CUDA_MODULE) $(DESTDIR)$(PREFIX)/lib/
endif
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS@|$(LIBS)|g' nuwa.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nuwa.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libnuwa.a $(DESTDIR)$(PREFIX)/lib/libnuwa.so* $(DESTDIR)$(PREFIX)/lib/libnuwa-cuda.so.0 \
	      $(DESTDIR)$(PREFIX)/include/nuwa.h \
	      $(DESTDIR)$(PREFIX)/bin/nuwa $(DESTDIR)$(PREFIX)/lib/pkgconfig/nuwa.pc

clean:
	rm -rf build build-san

distclean: clean
	rm -f config.mak config.h

endif

# Regenerates the FFmpeg patch series patches/ffmpeg-*/ from the pinned releases
# (patches/FFMPEG_VERSIONS) and dry-runs them: tools/ffmpeg-patches.sh. Outside the configured
# part because it needs no configure (and a directory named patches exists).
.PHONY: patches
patches:
	@sh tools/ffmpeg-patches.sh
