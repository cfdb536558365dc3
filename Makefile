# Lethe: make | make test | make sanitize | make run | make bench | make deps
CC ?= cc
BUILD ?= build
OPT ?= -O2
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wwrite-strings -Wvla -Wformat=2
ifdef CI
WARN += -Werror
endif
CFLAGS ?= $(OPT) -g
ALL_CFLAGS = -std=c11 $(CFLAGS) $(WARN) $(EXTRA_CFLAGS) -fno-math-errno -fopenmp -MMD -MP
CPPFLAGS += -D_DEFAULT_SOURCE -I. -I/usr/include/openblas
LDLIBS := -lopenblas -lsvm -lsqlite3 -ljansson -lpcre2-8 -lz -lm -fopenmp
# -rdynamic: out-of-tree method plug-ins (methods/plugin.c) call the engine in the program
LDFLAGS += -rdynamic $(EXTRA_LDFLAGS)

DIRS := base nn metrics methods attacks suites results harness
LIB_SRCS := $(filter-out harness/main.c,$(foreach d,$(DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# tests/tool_*.c: helper programs the CLI tests call (built, not run as tests)
TOOL_SRCS := $(wildcard tests/tool_*.c)
TOOL_BINS := $(TOOL_SRCS:tests/%.c=$(BUILD)/tests/%)
LETHE := $(BUILD)/lethe
# tests/plugins/*.c: shared objects that tests/test_plugin.c loads (an example method, bad ones)
PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
PLUGINS := $(PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/plugins/%.so)

.PHONY: all test sanitize run bench deps clean
# keep the test objects (intermediate files of the pattern rules) so that nothing rebuilds twice
.SECONDARY:
all: $(LETHE) $(TEST_BINS) $(TOOL_BINS) $(PLUGINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/liblethe.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LETHE): $(BUILD)/harness/main.o $(BUILD)/liblethe.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/liblethe.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/plugins/%.so: tests/plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ $<

test: all
	@sh tests/run.sh $(BUILD)

sanitize:
	$(MAKE) BUILD=build/san OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

deps:
	@bash scripts/deps.sh

run: deps all
	@sh scripts/run-quick.sh $(LETHE)

bench: all
	/usr/bin/python3 bench/run_bench.py --lethe $(LETHE)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(BUILD)/harness/main.d $(TEST_BINS:=.d) $(TOOL_BINS:=.d) \
         $(PLUGINS:.so=.d)
