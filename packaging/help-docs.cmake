# Generates the installed documentation of the command line from the built
# binary, so that it always says what that binary says (run at build time by
# the install block at the end of CMakeLists.txt):
#
#   cmake -DTLSWEEP=build/tlsweep -DOUT=dir [-DHELP2MAN=/usr/bin/help2man] -P packaging/help-docs.cmake
#
# writes OUT/tlsweep-help.txt (`tlsweep --help`, then `tlsweep COMMAND --help`
# for every command listed under "commands:" whose help differs from the
# global one) and, with HELP2MAN, OUT/tlsweep.1 (the same text as a man page).
cmake_minimum_required(VERSION 3.25)
if(NOT TLSWEEP OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DTLSWEEP=BINARY -DOUT=DIR [-DHELP2MAN=PATH] -P help-docs.cmake")
endif()

execute_process(COMMAND ${TLSWEEP} --help OUTPUT_VARIABLE main_help RESULT_VARIABLE rc TIMEOUT 30)
if(NOT rc EQUAL 0 OR main_help STREQUAL "")
  message(FATAL_ERROR "help-docs: `${TLSWEEP} --help` exited ${rc} with no help text")
endif()
execute_process(COMMAND ${TLSWEEP} --version OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc TIMEOUT 30)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help-docs: `${TLSWEEP} --version` exited ${rc}")
endif()

# the commands: the indented first words of the lines after "commands:", up to a blank line
set(commands "")
string(REPLACE ";" "\\;" text "${main_help}")
string(REPLACE "\n" ";" lines "${text}")
set(in_commands FALSE)
foreach(line IN LISTS lines)
  if(line MATCHES "^commands:")
    set(in_commands TRUE)
  elseif(in_commands AND line MATCHES "^[ \t]*$")
    break()
  elseif(in_commands AND line MATCHES "^[ \t]+([a-z][a-z0-9_-]*)[ \t]")
    list(APPEND commands ${CMAKE_MATCH_1})
  endif()
endforeach()

set(help_txt "${main_help}")
set(man_include "")
foreach(cmd IN LISTS commands)
  execute_process(COMMAND ${TLSWEEP} ${cmd} --help OUTPUT_VARIABLE cmd_help RESULT_VARIABLE rc
                  ERROR_QUIET TIMEOUT 30)
  # a command without help of its own prints the global help (or refuses --help)
  if(NOT rc EQUAL 0 OR cmd_help STREQUAL "" OR cmd_help STREQUAL main_help)
    continue()
  endif()
  string(APPEND help_txt "\n\n$ tlsweep ${cmd} --help\n\n${cmd_help}")
  # roff: backslashes escaped, lines starting with . or ' protected, text kept as is
  string(REPLACE "\\" "\\e" roff "${cmd_help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" roff "${roff}")
  string(TOUPPER "${cmd}" up)
  string(APPEND man_include "[COMMAND ${up}]\n.nf\n${roff}\n.fi\n\n")
endforeach()

file(WRITE ${OUT}/tlsweep-help.txt "${help_txt}")

if(HELP2MAN)
  string(APPEND man_include
    "[FILES]\n"
    ".TP\n\\fIPREFIX\\fR/share/tlsweep/configs/\nshipped sweep configurations (README.md there lists the keys)\n"
    ".TP\n\\fIPREFIX\\fR/share/tlsweep/jobs/\nlaunchers: local.sh (mpirun on this machine), sweep.sbatch and "
    "sweep-array.sbatch (Slurm)\n"
    "[SEE ALSO]\n"
    "\\fBtlsweep-report \\-\\-help\\fR (the analysis report), \\fBmpirun\\fR(1), \\fBsbatch\\fR(1), "
    "\\fBh5dump\\fR(1); \\fIPREFIX\\fR/share/doc/tlsweep/README.md\n")
  file(WRITE ${OUT}/tlsweep-man.include "${man_include}")
  execute_process(
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --version-string=${version}
      "--name=parameter sweeps of MMD transfer learning with MPI and parallel HDF5"
      --include=${OUT}/tlsweep-man.include --output=${OUT}/tlsweep.1 ${TLSWEEP}
    RESULT_VARIABLE rc TIMEOUT 60)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "help-docs: help2man failed (${rc})")
  endif()
endif()
