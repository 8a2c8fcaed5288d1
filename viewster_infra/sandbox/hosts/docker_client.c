/* `docker` on a sandbox host: a client of the docker stand-in's daemon (docker_daemon.py), as Docker's CLI is
 * dockerd's. It sends its pid and arguments over the daemon's Unix socket, then exits with the status the daemon
 * answers ("exit N\n"). The command itself writes straight to this process's own stdout and stderr, which the
 * daemon opens through /proc. Where no daemon listens, or it answers "fallback\n" (an output it cannot share: a
 * regular file, a socket), the client runs the stand-in itself in Python.
 *
 * C, built static (docker_client.py): a probe sends about six `docker` commands per host, and a Perl client's start
 * cost 1.5 ms of CPU each on this machine, this one's 0.4.
 *
 * Request: the client's pid and the number of arguments (two big-endian 32-bit words), then each argument as its
 * length (big-endian 32 bits) and its bytes. The paths below are given at build time. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STANDALONE "import sys; from viewster_infra.sandbox.hosts.docker_standin import main; sys.exit(main(sys.argv[1:]))"

static void run_standalone(int argc, char **argv) {
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (args == NULL) {
        perror("docker stand-in");
        exit(125);
    }
    args[0] = PYTHON;
    args[1] = "-S";  /* no site: the stand-in needs nothing installed */
    args[2] = "-c";  /* imported, not run as a file: a module's bytecode is cached */
    args[3] = STANDALONE;
    memcpy(args + 4, argv + 1, (size_t)(argc - 1) * sizeof *args);
    setenv("PYTHONPATH", ROOT, 1);
    execv(PYTHON, args);
    perror("docker stand-in: " PYTHON);
    exit(125);
}

static int write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written <= 0) return -1;
        data += written;
        length -= (size_t)written;
    }
    return 0;
}

static int send_request(int daemon, int argc, char **argv) {
    size_t size = 8;
    for (int i = 1; i < argc; i++) size += 4 + strlen(argv[i]);
    char *request = malloc(size), *at = request;
    if (request == NULL) return -1;
    uint32_t word = htonl((uint32_t)getpid());
    memcpy(at, &word, 4), at += 4;
    word = htonl((uint32_t)(argc - 1));
    memcpy(at, &word, 4), at += 4;
    for (int i = 1; i < argc; i++) {
        size_t length = strlen(argv[i]);
        word = htonl((uint32_t)length);
        memcpy(at, &word, 4), at += 4;
        memcpy(at, argv[i], length), at += length;
    }
    int sent = write_all(daemon, request, size);
    free(request);
    return sent;
}

int main(int argc, char **argv) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, SOCKET_PATH, sizeof address.sun_path - 1);
    int daemon = socket(AF_UNIX, SOCK_STREAM, 0);
    if (daemon < 0 || connect(daemon, (struct sockaddr *)&address, sizeof address) < 0) run_standalone(argc, argv);
    if (send_request(daemon, argc, argv) < 0) run_standalone(argc, argv);  /* nothing ran yet */
    shutdown(daemon, SHUT_WR);
    char answer[64];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof answer - 1 && (n = read(daemon, answer + got, sizeof answer - 1 - got)) > 0) got += (size_t)n;
    answer[got] = '\0';
    int status;
    char end;
    if (sscanf(answer, "exit %d%c", &status, &end) == 2 && end == '\n') return status;
    if (strcmp(answer, "fallback\n") == 0) run_standalone(argc, argv);
    fputs("docker stand-in: the daemon stopped during the command\n", stderr);
    return 125;
}
