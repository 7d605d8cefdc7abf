/* The C side of bench/compare: libvirt 9.0's public client API (libvirt-dev), timed the way
 * spec-tests/src/bin/bench_client.rs times our clients, printing the same RESULT line.
 *
 *   libvirt_client URI seq N          N x virDomainGetState("test") on one connection
 *   libvirt_client URI threads T N    the same N calls from T threads sharing one connection
 *   libvirt_client URI connect N      N x (virConnectOpen + virConnectClose)
 *
 * With --event-loop first, the program runs libvirt's default event loop on a thread of its
 * own before it connects, as virsh and libvirt-python with events do: the library then opens
 * connections with the keepalive probe and watches their sockets from that loop.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    virErrorPtr e = virGetLastError();
    fprintf(stderr, "libvirt_client: %s: %s\n", what, e && e->message ? e->message : "(no error)");
    exit(1);
}

static void result(long calls, double secs)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT rate=%.1f rss_kb=%ld\n", calls / secs, ru.ru_maxrss);
}

struct worker {
    virDomainPtr dom;
    long n;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; i < w->n; i++) {
        int state, reason;
        if (virDomainGetState(w->dom, &state, &reason, 0) < 0)
            die("virDomainGetState");
    }
    return NULL;
}

static void *event_loop(void *arg)
{
    (void)arg;
    for (;;) {
        if (virEventRunDefaultImpl() < 0)
            die("virEventRunDefaultImpl");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--event-loop") == 0) {
        pthread_t loop;
        if (virEventRegisterDefaultImpl() < 0)
            die("virEventRegisterDefaultImpl");
        if (pthread_create(&loop, NULL, event_loop, NULL) != 0)
            return 1;
        argv++;
        argc--;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s [--event-loop] URI seq N | threads T N | connect N\n", argv[0]);
        return 2;
    }
    const char *uri = argv[1], *mode = argv[2];
    if (strcmp(mode, "connect") == 0) {
        long n = atol(argv[3]);
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            virConnectPtr c = virConnectOpen(uri);
            if (!c)
                die("virConnectOpen");
            virConnectClose(c);
        }
        result(n, now_s() - t0);
        return 0;
    }
    long threads = 1, n;
    if (strcmp(mode, "threads") == 0) {
        if (argc < 5)
            return 2;
        threads = atol(argv[3]);
        n = atol(argv[4]);
    } else {
        n = atol(argv[3]);
    }
    virConnectPtr c = virConnectOpen(uri);
    if (!c)
        die("virConnectOpen");
    virDomainPtr dom = virDomainLookupByName(c, "test");
    if (!dom)
        die("virDomainLookupByName");
    pthread_t tid[256];
    struct worker w[256];
    if (threads < 1 || threads > 256)
        return 2;
    double t0 = now_s();
    for (long i = 0; i < threads; i++) {
        w[i].dom = dom;
        w[i].n = n / threads;
        pthread_create(&tid[i], NULL, work, &w[i]);
    }
    for (long i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    result(n / threads * threads, now_s() - t0);
    virDomainFree(dom);
    virConnectClose(c);
    return 0;
}
