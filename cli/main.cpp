// dnas: the command-line front end. Sub-commands live in their own files; this one wires them up
// and turns every error into one line on stderr with a non-zero exit (2 for bad input).
#include <CLI/CLI.hpp>
#ifdef DNAS_WITH_GLOG
#include <glog/logging.h>
#endif

#include <c10/util/Exception.h>
#include <c10/util/Logging.h>

#include <cstdlib>
#include <iostream>
#include <new>
#include <string>

#include "cli/arch_command.h"
#include "cli/bench_command.h"
#include "cli/lut_command.h"
#include "cli/search_command.h"
#include "cli/train_command.h"
#include "ops/allocator.h"
#include "common/error.h"
#include "common/version.h"

namespace {

// Sub-command descriptions are written as a one-line summary followed by details and examples;
// the summary goes in the command list, the rest in the command's own --help.
void split_descriptions(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands({})) {
    const std::string text = sub->get_description();
    const auto newline = text.find('\n');
    if (newline != std::string::npos) {
      sub->description(text.substr(0, newline));
      sub->footer(text.substr(newline + 1));
    }
    split_descriptions(*sub);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before any tensor exists: steady timings (ops/allocator.h). DNAS_MALLOC_DEFAULTS=1 opts out
  // (bench/lut_accuracy.sh uses it as the baseline).
  if (std::getenv("DNAS_MALLOC_DEFAULTS") == nullptr) dnas::keep_large_buffers_on_heap();
#ifdef DNAS_WITH_GLOG
  // LibTorch's c10d logs through glog; its errors reach the user as our one-line messages, so keep
  // glog to fatal messages unless GLOG_minloglevel asks for more.
  google::InitGoogleLogging(argv[0]);
  if (std::getenv("GLOG_minloglevel") == nullptr) FLAGS_minloglevel = google::GLOG_FATAL;
#endif
#ifndef C10_USE_GLOG
  // A LibTorch that logs on its own (trixie's 2.6, PyTorch's wheels): c10d writes its errors, with
  // stack traces, to stderr; keep it to fatal messages unless TORCH_CPP_LOG_LEVEL asks for more.
  if (std::getenv("TORCH_CPP_LOG_LEVEL") == nullptr) FLAGS_caffe2_log_level = 3;  // FATAL
#endif
  CLI::App app{
      "dnas: hardware-aware differentiable neural architecture search (FBNet-style) on LibTorch.\n"
      "Start with `dnas arch info fbnet_c`, `dnas arch info fbnet` or `dnas lut list`."};
  app.name("dnas");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dnas ") + dnas::dnas_version() + " (" + dnas::dnas_build_commit() + ")");
  dnas::cli::add_arch_command(app);
  dnas::cli::add_profile_command(app);
  dnas::cli::add_lut_command(app);
  dnas::cli::add_search_commands(app);
  dnas::cli::add_train_commands(app);
  dnas::cli::add_bench_command(app);
  split_descriptions(app);

  // CLI11 reads an empty value as "not given" and keeps the default; an empty argument is an unset
  // shell variable far more often than a wish for the default, so it is refused.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || (arg.rfind("--", 0) == 0 && arg.back() == '=')) {
      std::cerr << "dnas: error: " << (arg.empty() ? (i > 1 ? std::string(argv[i - 1]) + ": " : "") : arg + " ")
                << "empty value (an unset shell variable?)\n";
      return 2;
    }
  }
  // --memory-format meant two things and was split in two; say which name replaced it here.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg != "--memory-format" && arg.rfind("--memory-format=", 0) != 0) continue;
    const std::string command = argv[1];
    const bool table = command == "profile-latency" || command == "lut" ||
                       (command == "bench" && argc > 2 && std::string(argv[2]) == "net");
    std::cerr << "dnas: error: --memory-format: renamed; use "
              << (table ? "--lut-layout (the latency table's layout)" : "--train-layout (the training layout)")
              << " here, or " << (table ? "--train-layout for training" : "--lut-layout for the latency table's")
              << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "dnas: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const dnas::Error& e) {
    std::cerr << "dnas: error: " << e.what() << '\n';
    return 2;
  } catch (const c10::Error& e) {
    // LibTorch's messages: the first line, without "[enforce fail at file.cpp:75]" noise; an
    // allocation that failed is the user's sizes, not a bug.
    std::string message = e.what_without_backtrace();
    message = message.substr(0, message.find('\n'));
    if (message.rfind("[enforce fail at ", 0) == 0 && message.find("] ") != std::string::npos)
      message = message.substr(message.find("] ") + 2);
    if (message.find("allocate") != std::string::npos || message.find("out of memory") != std::string::npos) {
      std::cerr << "dnas: error: out of memory: " << message
                << " (reduce the batch size, the input size or the channels)\n";
      return 2;
    }
    std::cerr << "dnas: error: " << message << '\n';
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "dnas: error: out of memory (reduce the batch size, the input size or the channels)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dnas: internal error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
