%% Ember peer benchmarks -- Erlang/OTP side.
%%
%% Compiled by run-peers.sh into a temporary directory (never into the repo):
%%   erlc -o "$TMP" benches/peers/erlang/ember_peers.erl
%%   erl -noshell +P 5000000 -pa "$TMP" -run ember_peers main -extra [--quick] WORKLOAD...
%% WORKLOAD is a name printed by `... -extra list`, or `all`.
%%
%% Output: one line per measurement
%%   RESULT <workload> erlang <value> <unit>
%% plus free-form comment lines starting with "# ".
%% Definitions of every workload: see ../README.md.
-module(ember_peers).

-export([main/0, main/1]).
%% gen_server / supervisor callbacks and spawned entry points
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).
-export([start_worker/1, start_hib_worker/1, start_restart_child/1]).

-define(IMPL, "erlang").

-define(WORKLOADS,
        ["spawn_1m", "skynet_1m", "ping_pong", "ring_1000x10000", "ring_10000x1000",
         "mem_idle_100k", "mem_idle_1m", "exit_cascade_100k", "monitor_down",
         "genserver_call_1", "genserver_call_100", "mem_hibernated_genserver_1m",
         "restart_latency", "sup_static_10k", "dynsup_start_child_100k",
         "dynsup_idle_1m_rss", "dynsup_shutdown_100k", "dynsup_shutdown_1m"]).

%% ---------------------------------------------------------------------------
%% entry point

%% `erl -run ember_peers main -extra ARGS` (ARGS via init:get_plain_arguments/0,
%% because erl would parse "--quick" itself) or `-run ember_peers main ARGS`.
main() -> main2(init:get_plain_arguments()).
main(Args) -> main2(Args).

main2(Args0) ->
    Args = [to_list(A) || A <- Args0],
    Quick = lists:member("--quick", Args),
    put(quick, Quick),
    Names = [A || A <- Args, A =/= "--quick"],
    Code =
        try
            case Names of
                ["list"] ->
                    [io:format("~s~n", [W]) || W <- ?WORKLOADS],
                    0;
                [] ->
                    io:format(standard_error, "usage: ember_peers [--quick] all | list | WORKLOAD...~n", []),
                    2;
                _ ->
                    Ws = case Names of ["all"] -> ?WORKLOADS; _ -> Names end,
                    Bad = [W || W <- Ws, not lists:member(W, ?WORKLOADS)],
                    case Bad of
                        [] ->
                            comment("erlang: OTP ~s erts ~s schedulers=~p process_limit=~p quick=~p",
                                    [erlang:system_info(otp_release), erlang:system_info(version),
                                     erlang:system_info(schedulers_online),
                                     erlang:system_info(process_limit), Quick]),
                            lists:foreach(fun run/1, Ws), 0;
                        _ -> io:format(standard_error, "unknown workload(s): ~p~n", [Bad]), 2
                    end
            end
        catch C:E:St ->
            io:format(standard_error, "ember_peers crashed: ~p:~p~n~p~n", [C, E, St]),
            1
        end,
    erlang:halt(Code).

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(A) -> A.

run(W) ->
    %% Each workload runs in its own fresh process so the mailbox/heap of a
    %% previous workload cannot influence the next (the runner additionally
    %% starts a fresh VM for every workload).
    Parent = self(),
    Quick = get(quick),
    {Pid, Ref} = spawn_monitor(fun() ->
                                       put(quick, Quick),
                                       process_flag(trap_exit, false),
                                       workload(W),
                                       Parent ! {done, self()}
                               end),
    receive
        {done, Pid} -> receive {'DOWN', Ref, _, _, _} -> ok end;
        {'DOWN', Ref, process, Pid, Reason} -> error({workload_failed, W, Reason})
    end.

%% size helper: full size, or 10x smaller with --quick
sz(N) -> case get(quick) of true -> N div 10; _ -> N end.

now_ns() -> erlang:monotonic_time(nanosecond).

result(W, Value, Unit) ->
    io:format("RESULT ~s ~s ~s ~s~n", [W, ?IMPL, fmt(Value), Unit]).

comment(Fmt, Args) -> io:format("# " ++ Fmt ++ "~n", Args).

fmt(V) when is_integer(V) -> integer_to_list(V);
fmt(V) when is_float(V), V >= 1000.0 -> integer_to_list(round(V));
fmt(V) when is_float(V) -> float_to_list(V, [{decimals, 4}, compact]);
fmt(nan) -> "NaN".

rate(Count, Ns) -> Count / (Ns / 1.0e9).

ms(Ns) -> Ns / 1.0e6.

%% VmRSS of this OS process in bytes
rss() ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Bin, <<"\n">>, [global]), binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb | _] = string:lexemes(binary_to_list(Line), " \t"),
    list_to_integer(Kb) * 1024.

%% wait until all run queues are empty (all spawned processes have run and are
%% blocked in receive / hibernated), then settle briefly.
quiesce() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> timer:sleep(200),
             case erlang:statistics(total_run_queue_lengths_all) of
                 0 -> ok;
                 _ -> quiesce()
             end;
        _ -> timer:sleep(20), quiesce()
    end.

mem_snapshot() ->
    erlang:garbage_collect(),
    quiesce(),
    {rss(), erlang:memory(processes)}.

%% ---------------------------------------------------------------------------
%% workloads

workload("spawn_1m") ->
    N = sz(1000000),
    Root = self(),
    %% The root's mailbox grows to up to N messages while it is still
    %% spawning. With the default on_heap message queue every minor GC of the
    %% root rescans that mailbox, which makes the loop quadratic (100k: ~2 s
    %% instead of ~0.1 s on the reference machine; 1M: minutes). off_heap is
    %% the documented setting for a process that receives floods of messages.
    process_flag(message_queue_data, off_heap),
    T0 = now_ns(),
    spawn_n(N, Root),
    recv_n(N),
    T1 = now_ns(),
    result("spawn_1m", rate(N, T1 - T0), "procs/s");

workload("skynet_1m") ->
    Size = sz(1000000),
    Expected = Size * (Size - 1) div 2,
    Root = self(),
    T0 = now_ns(),
    spawn(fun() -> skynet(Root, 0, Size, 10) end),
    Sum = receive {sum, S} -> S end,
    T1 = now_ns(),
    case Sum of
        Expected -> ok;
        _ -> error({skynet_wrong_sum, Sum, Expected})
    end,
    result("skynet_1m", (T1 - T0) / 1.0e9, "s");

workload("ping_pong") ->
    N = sz(1000000),
    B = spawn(fun pong/0),
    T0 = now_ns(),
    ping(B, N),
    T1 = now_ns(),
    B ! stop,
    result("ping_pong", rate(N, T1 - T0), "roundtrips/s");

workload("ring_1000x10000") -> ring("ring_1000x10000", 1000, sz(10000));
workload("ring_10000x1000") -> ring("ring_10000x1000", 10000, sz(1000));

workload("mem_idle_100k") -> mem_idle("mem_idle_100k", sz(100000));
workload("mem_idle_1m") -> mem_idle("mem_idle_1m", sz(1000000));

workload("exit_cascade_100k") ->
    N = sz(100000),
    Root = self(),
    Head = spawn(fun() -> chain(Root, N - 1) end),
    Tail = receive {tail, T} -> T end,
    MRef = monitor(process, Tail),
    T0 = now_ns(),
    exit(Head, kill),
    receive {'DOWN', MRef, process, Tail, _} -> ok end,
    T1 = now_ns(),
    result("exit_cascade_100k", ms(T1 - T0), "ms");

workload("monitor_down") ->
    N = sz(100000),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
    quiesce(),
    T0 = now_ns(),
    monitor_down(Pids),
    T1 = now_ns(),
    result("monitor_down", rate(N, T1 - T0), "ops/s");

workload("genserver_call_1") ->
    N = sz(1000000),
    {ok, S} = gen_server:start(?MODULE, {counter, 0}, []),
    T0 = now_ns(),
    call_n(S, N),
    T1 = now_ns(),
    gen_server:stop(S),
    result("genserver_call_1", rate(N, T1 - T0), "calls/s");

workload("genserver_call_100") ->
    Callers = 100,
    PerCaller = sz(10000),
    {ok, S} = gen_server:start(?MODULE, {counter, 0}, []),
    Root = self(),
    T0 = now_ns(),
    [spawn(fun() -> call_n(S, PerCaller), Root ! caller_done end) || _ <- lists:seq(1, Callers)],
    [receive caller_done -> ok end || _ <- lists:seq(1, Callers)],
    T1 = now_ns(),
    gen_server:stop(S),
    result("genserver_call_100", rate(Callers * PerCaller, T1 - T0), "calls/s");

workload("mem_hibernated_genserver_1m") ->
    N = sz(1000000),
    {Rss0, Vm0} = mem_snapshot(),
    start_hibernated(N),
    {Rss1, Vm1} = mem_snapshot(),
    result("mem_hibernated_genserver_1m", (Rss1 - Rss0) / N, "bytes/proc"),
    result("mem_hibernated_genserver_1m_vm", (Vm1 - Vm0) / N, "bytes/proc");

workload("restart_latency") ->
    logger:set_primary_config(level, none),
    N = sz(10000),
    Flags = #{strategy => one_for_one, intensity => 1000000, period => 1},
    Child = #{id => child, start => {?MODULE, start_restart_child, [self()]},
              restart => permanent, shutdown => 5000, type => worker},
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Flags, [Child]}),
    First = receive {started, P0} -> P0 end,
    Lat = restart_loop(N, First, []),
    unlink(Sup),
    exit(Sup, shutdown),
    Sorted = lists:sort(Lat),
    result("restart_latency_median", percentile(Sorted, 0.50), "us"),
    result("restart_latency_p99", percentile(Sorted, 0.99), "us"),
    %% The supervisor keeps a list of the restarts of the last `period`
    %% seconds and walks it on every restart (supervisor:add_restart/1), so
    %% with intensity 1,000,000 the cost of a restart grows with the number of
    %% restarts already done in the last 1-2 s. Show the first and last 1000.
    InOrder = lists:reverse(Lat),
    K = min(1000, N),
    First1k = lists:sort(lists:sublist(InOrder, K)),
    Last1k = lists:sort(lists:nthtail(N - K, InOrder)),
    comment("restart_latency erlang: first ~p restarts median ~s us p99 ~s us; last ~p median ~s us p99 ~s us",
            [K, fmt(percentile(First1k, 0.5)), fmt(percentile(First1k, 0.99)),
             K, fmt(percentile(Last1k, 0.5)), fmt(percentile(Last1k, 0.99))]);

workload("sup_static_10k") ->
    logger:set_primary_config(level, none),
    N = sz(10000),
    Flags = #{strategy => one_for_one, intensity => 1, period => 5},
    Children = [#{id => I, start => {?MODULE, start_worker, [I]}} || I <- lists:seq(1, N)],
    T0 = now_ns(),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Flags, Children}),
    T1 = now_ns(),
    N = length(supervisor:which_children(Sup)),
    T2 = now_ns(),
    ok = gen_server:stop(Sup),
    T3 = now_ns(),
    result("sup_static_10k_start", ms(T1 - T0), "ms"),
    result("sup_static_10k_shutdown", ms(T3 - T2), "ms");

workload("dynsup_start_child_100k") ->
    logger:set_primary_config(level, none),
    N = sz(100000),
    Sup = sofo_sup(start_worker),
    T0 = now_ns(),
    sofo_start_n(Sup, N),
    T1 = now_ns(),
    result("dynsup_start_child_100k", rate(N, T1 - T0), "children/s");

workload("dynsup_idle_1m_rss") ->
    logger:set_primary_config(level, none),
    N = sz(1000000),
    {Rss0, _} = mem_snapshot(),
    Sup = sofo_sup(start_hib_worker),
    sofo_start_n(Sup, N),
    {Rss1, _} = mem_snapshot(),
    result("dynsup_idle_1m_rss", (Rss1 - Rss0) / N, "bytes/child"),
    result("dynsup_idle_1m_rss_total", (Rss1 - Rss0) / (1024 * 1024), "MiB");

workload("dynsup_shutdown_100k") -> dynsup_shutdown("dynsup_shutdown_100k", sz(100000));
workload("dynsup_shutdown_1m") -> dynsup_shutdown("dynsup_shutdown_1m", sz(1000000)).

%% ---------------------------------------------------------------------------
%% helpers for the workloads

spawn_n(0, _Root) -> ok;
spawn_n(N, Root) ->
    spawn(fun() -> Root ! done end),
    spawn_n(N - 1, Root).

recv_n(0) -> ok;
recv_n(N) -> receive done -> recv_n(N - 1) end.

skynet(Parent, Num, 1, _Div) ->
    Parent ! {sum, Num};
skynet(Parent, Num, Size, Div) ->
    Self = self(),
    Sub = Size div Div,
    [spawn(fun() -> skynet(Self, Num + I * Sub, Sub, Div) end) || I <- lists:seq(0, Div - 1)],
    Parent ! {sum, skynet_sum(Div, 0)}.

skynet_sum(0, Acc) -> Acc;
skynet_sum(K, Acc) -> receive {sum, S} -> skynet_sum(K - 1, Acc + S) end.

pong() ->
    receive
        {ping, From} -> From ! pong, pong();
        stop -> ok
    end.

ping(_B, 0) -> ok;
ping(B, N) ->
    B ! {ping, self()},
    receive pong -> ping(B, N - 1) end.

%% Ring of N processes; the token carries the number of hops left. Ring setup
%% is excluded from the timing; the clock runs from injecting the token until
%% the process that performs the last hop reports back.
ring(W, N, Laps) ->
    Root = self(),
    First = spawn(fun() -> ring_first(Root) end),
    Last = lists:foldl(fun(_, Next) -> spawn(fun() -> ring_node(Next, Root) end) end,
                       First, lists:seq(1, N - 1)),
    %% node k forwards to node k-1, node 1 to First, First to Last: a ring.
    First ! {next, Last},
    receive ring_ready -> ok end,
    Hops = N * Laps,
    T0 = now_ns(),
    First ! {token, Hops},
    receive ring_done -> ok end,
    T1 = now_ns(),
    result(W, rate(Hops, T1 - T0), "hops/s").

ring_first(Root) ->
    receive {next, Next} -> Root ! ring_ready, ring_node(Next, Root) end.

ring_node(Next, Root) ->
    receive
        {token, 1} -> Root ! ring_done, ring_node(Next, Root);
        {token, H} -> Next ! {token, H - 1}, ring_node(Next, Root)
    end.

mem_idle(W, N) ->
    {Rss0, Vm0} = mem_snapshot(),
    spawn_idle(N),
    {Rss1, Vm1} = mem_snapshot(),
    result(W, (Rss1 - Rss0) / N, "bytes/proc"),
    result(W ++ "_vm", (Vm1 - Vm0) / N, "bytes/proc").

spawn_idle(0) -> ok;
spawn_idle(N) ->
    spawn(fun() -> receive stop -> ok end end),
    spawn_idle(N - 1).

%% process K of the chain spawns (and links to) K+1; the last one reports.
chain(Root, 0) ->
    Root ! {tail, self()},
    receive stop -> ok end;
chain(Root, K) ->
    spawn_link(fun() -> chain(Root, K - 1) end),
    receive stop -> ok end.

monitor_down([]) -> ok;
monitor_down([P | Ps]) ->
    Ref = monitor(process, P),
    P ! stop,
    receive {'DOWN', Ref, process, _, _} -> ok end,
    monitor_down(Ps).

call_n(_S, 0) -> ok;
call_n(S, N) ->
    _ = gen_server:call(S, get),
    call_n(S, N - 1).

start_hibernated(0) -> ok;
start_hibernated(N) ->
    {ok, _} = gen_server:start(?MODULE, {hibernate, N}, []),
    start_hibernated(N - 1).

restart_loop(0, _Child, Acc) -> Acc;
restart_loop(N, Child, Acc) ->
    T0 = now_ns(),
    exit(Child, kill),
    receive
        {started, New} ->
            T1 = now_ns(),
            restart_loop(N - 1, New, [(T1 - T0) / 1000.0 | Acc])
    end.

percentile(Sorted, P) ->
    Len = length(Sorted),
    Idx = max(1, min(Len, round(math:ceil(P * Len)))),
    lists:nth(Idx, Sorted).


%% simple_one_for_one supervisor (OTP's dynamic supervisor)
sofo_sup(StartFun) ->
    Flags = #{strategy => simple_one_for_one, intensity => 1000000, period => 1},
    Child = #{id => w, start => {?MODULE, StartFun, []}, restart => permanent,
              shutdown => 5000, type => worker},
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Flags, [Child]}),
    Sup.

sofo_start_n(_Sup, 0) -> ok;
sofo_start_n(Sup, N) ->
    {ok, _} = supervisor:start_child(Sup, [N]),
    sofo_start_n(Sup, N - 1).

dynsup_shutdown(W, N) ->
    logger:set_primary_config(level, none),
    Sup = sofo_sup(start_hib_worker),
    sofo_start_n(Sup, N),
    quiesce(),
    T0 = now_ns(),
    ok = gen_server:stop(Sup, normal, infinity),
    T1 = now_ns(),
    result(W, ms(T1 - T0), "ms").

%% ---------------------------------------------------------------------------
%% gen_server and supervisor callbacks (one module serves all roles)

start_worker(Arg) -> gen_server:start_link(?MODULE, {counter, Arg}, []).
start_hib_worker(Arg) -> gen_server:start_link(?MODULE, {hibernate, Arg}, []).
start_restart_child(Bench) ->
    gen_server:start_link({local, ember_peers_restart_child}, ?MODULE, {notify, Bench}, []).

%% supervisor role
init({sup, Flags, Children}) -> {ok, {Flags, Children}};
%% gen_server roles
init({counter, N}) -> {ok, N};
init({hibernate, N}) -> {ok, N, hibernate};
init({notify, Bench}) ->
    Bench ! {started, self()},
    {ok, 0}.

handle_call(get, _From, N) -> {reply, N, N + 1}.
handle_cast(_Msg, S) -> {noreply, S}.
handle_info(_Msg, S) -> {noreply, S}.
