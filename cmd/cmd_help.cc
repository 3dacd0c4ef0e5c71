// dfs help [SUBCOMMAND] and dfs completion bash: the help of one subcommand,
// and a bash completion script made from the same table of subcommands and
// options that parses the command line.
#include <cstdio>
#include <set>

#include "cmd/cli_common.h"

namespace dfs::cmd {
namespace {

// Every option name of `app` ("-r", "--recursive"), sorted.
std::string OptionWords(const CLI::App& app) {
  std::set<std::string> words;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& s : o->get_snames()) words.insert("-" + s);
    for (const std::string& l : o->get_lnames()) words.insert("--" + l);
  }
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Options of `app` that take a value: the word after them is not a subcommand.
std::string ValueOptions(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_type_size() == 0 || o->get_positional()) continue;
    for (const std::string& l : o->get_lnames()) out += (out.empty() ? "" : "|") + std::string("--") + l;
  }
  return out;
}

std::string BashCompletion(const CLI::App& app) {
  std::string subs, cases;
  for (const CLI::App* sub : app.get_subcommands({})) {
    subs += (subs.empty() ? "" : " ") + sub->get_name();
    std::string nested;
    for (const CLI::App* inner : sub->get_subcommands({})) nested += " " + inner->get_name();
    cases += "    " + sub->get_name() + ") words=\"" + OptionWords(*sub) + nested + "\" ;;\n";
  }
  return "# bash completion for dfs: eval \"$(dfs completion bash)\", or save it as\n"
         "# /etc/bash_completion.d/dfs (scripts/setup does).\n"
         "_dfs() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} sub=\"\" words i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case ${COMP_WORDS[i]} in\n"
         "      " +
         ValueOptions(app) +
         ") ((i++)) ;;\n"
         "      -*) ;;\n"
         "      *) sub=${COMP_WORDS[i]}; break ;;\n"
         "    esac\n"
         "  done\n"
         "  case $sub in\n"
         "    \"\") words=\"" +
         subs + " " + OptionWords(app) + "\" ;;\n" + cases +
         "  esac\n"
         "  if [[ $cur == -* || -z $sub ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  elif [[ $cur == /* || $cur == dfs:/* ]]; then\n"
         "    # dfs paths: what the directory holds, asked of the cluster.\n"
         "    local pre=\"\" path=$cur dir\n"
         "    [[ $cur == dfs:* ]] && pre=dfs: && path=${cur#dfs:}\n"
         "    dir=${path%/*}\n"
         "    local c; COMPREPLY=()\n"
         "    while IFS= read -r c; do\n"
         "      [[ $c == . || $c == .. ]] && continue\n"
         "      [[ $pre$dir/$c == \"$cur\"* ]] && COMPREPLY+=(\"$pre$dir/$c\")\n"
         "    done < <(dfs ls -a \"${dir:-/}\" 2>/dev/null)\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o default -o nospace -F _dfs dfs\n";
}

}  // namespace

void RegisterHelp(CLI::App& app, Globals&, Runner& run) {
  auto* help = AddSubcommand(app, "help", "Show the help of dfs or of one subcommand");
  auto name = std::make_shared<std::string>();
  help->add_option("SUBCOMMAND", *name, "A subcommand");
  help->callback([&run, &app, name] {
    run = [&app, name]() -> Status {
      if (name->empty()) {
        printf("%s", app.help().c_str());
        return Status::Ok();
      }
      for (const CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_name() == *name && *name != "help") {
          printf("%s", sub->help("dfs").c_str());
          return Status::Ok();
        }
      }
      return InvalidArgument("help: no subcommand '" + *name + "' (see dfs --help)");
    };
  });

  auto* completion = AddSubcommand(app, "completion", "Print a shell completion script (bash)");
  auto shell = std::make_shared<std::string>();
  completion->add_option("SHELL", *shell, "bash")->required();
  completion->callback([&run, &app, shell] {
    run = [&app, shell]() -> Status {
      if (*shell != "bash") return InvalidArgument("completion: only bash is supported, not '" + *shell + "'");
      printf("%s", BashCompletion(app).c_str());
      return Status::Ok();
    };
  });
}

}  // namespace dfs::cmd
