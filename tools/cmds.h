/* One function per subcommand, each in tools/cmd-<name>.c. */
#ifndef DG_CMDS_H
#define DG_CMDS_H

int cmd_demo(int argc, const char **argv);
int cmd_synth(int argc, const char **argv);
int cmd_import(int argc, const char **argv);
int cmd_info(int argc, const char **argv);
int cmd_eval(int argc, const char **argv);
int cmd_metrics(int argc, const char **argv);
int cmd_sweep(int argc, const char **argv);
int cmd_confusion(int argc, const char **argv);
int cmd_examples(int argc, const char **argv);
int cmd_devices(int argc, const char **argv);
int cmd_voc(int argc, const char **argv);
int cmd_import_txt(int argc, const char **argv, const char *format);
int cmd_coco(int argc, const char **argv);
int cmd_label_errors(int argc, const char **argv);
int cmd_errors(int argc, const char **argv);

int cmd_report(int argc, const char **argv);
int cmd_segment(int argc, const char **argv);
int cmd_scenarios(int argc, const char **argv);
int cmd_check(int argc, const char **argv);
int cmd_compare(int argc, const char **argv);
int cmd_frames(int argc, const char **argv);
int cmd_embeddings(int argc, const char **argv);
int cmd_slices(int argc, const char **argv);
int cmd_import_embeddings(int argc, const char **argv);

#endif
