# Ember peer benchmarks -- Elixir side.
#
# Plain script, no Mix project (needs no network):
#   elixir --erl "+P 5000000" benches/peers/elixir/ember_peers.exs [--quick] WORKLOAD...
# WORKLOAD is a name printed by `... ember_peers.exs list`, or `all`.
#
# Output: one line per measurement
#   RESULT <workload> elixir <value> <unit>
# plus free-form comment lines starting with "# ".
# Definitions of every workload: see ../README.md.
#
# All hot loops live inside modules: module bodies in an .exs file are compiled
# to BEAM code like any other module; only the few top-level lines at the end
# are evaluated.

defmodule EmberPeers.Worker do
  # Plain GenServer used as child / call target.
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, {:counter, arg})
  def start_link_hibernated(arg), do: GenServer.start_link(__MODULE__, {:hibernate, arg})

  @impl true
  def init({:counter, n}), do: {:ok, n}
  def init({:hibernate, n}), do: {:ok, n, :hibernate}

  @impl true
  def handle_call(:get, _from, n), do: {:reply, n, n + 1}
end

defmodule EmberPeers.HibWorker do
  # Hibernated GenServer child (for DynamicSupervisor.start_child).
  use GenServer

  def start_link(arg), do: GenServer.start_link(__MODULE__, arg)

  @impl true
  def init(n), do: {:ok, n, :hibernate}
end

defmodule EmberPeers.RestartChild do
  # Child for restart_latency: registered under a local name, announces itself.
  use GenServer

  def start_link(bench), do: GenServer.start_link(__MODULE__, bench, name: __MODULE__)

  @impl true
  def init(bench) do
    send(bench, {:started, self()})
    {:ok, 0}
  end
end

defmodule EmberPeers do
  @impl_name "elixir"

  @workloads ~w(spawn_1m skynet_1m ping_pong ring_1000x10000 ring_10000x1000
    mem_idle_100k mem_idle_1m exit_cascade_100k monitor_down
    genserver_call_1 genserver_call_100 mem_hibernated_genserver_1m
    restart_latency sup_static_10k dynsup_start_child_100k
    dynsup_idle_1m_rss dynsup_shutdown_100k dynsup_shutdown_1m
    partition_start_child_2x2 dynsup_start_child_2callers
    registry_lookup_1core registry_lookup_2cores registry_register_unregister
    via_call pid_call)

  # Bound for one DynamicSupervisor.stop/1 (dynsup_shutdown_*), in seconds.
  # Override with EMBER_PEERS_SHUTDOWN_BOUND_S.
  @default_shutdown_bound_s 600

  def main(argv) do
    quick = "--quick" in argv
    Process.put(:quick, quick)
    names = Enum.reject(argv, &(&1 == "--quick"))

    case names do
      ["list"] ->
        Enum.each(@workloads, &IO.puts/1)
        0

      [] ->
        IO.puts(:stderr, "usage: ember_peers.exs [--quick] all | list | WORKLOAD...")
        2

      _ ->
        ws = if names == ["all"], do: @workloads, else: names

        case Enum.reject(ws, &(&1 in @workloads)) do
          [] ->
            comment(
              "elixir: Elixir #{System.version()} OTP #{:erlang.system_info(:otp_release)} " <>
                "schedulers=#{:erlang.system_info(:schedulers_online)} " <>
                "process_limit=#{:erlang.system_info(:process_limit)} quick=#{quick}"
            )

            Enum.each(ws, &run/1)
            0

          bad ->
            IO.puts(:stderr, "unknown workload(s): #{inspect(bad)}")
            2
        end
    end
  end

  # Each workload runs in a fresh process (the runner also uses a fresh VM).
  defp run(w) do
    quick = Process.get(:quick)
    parent = self()

    {pid, ref} =
      spawn_monitor(fn ->
        Process.put(:quick, quick)
        workload(w)
        send(parent, {:done, self()})
      end)

    receive do
      {:done, ^pid} ->
        receive do
          {:DOWN, ^ref, _, _, _} -> :ok
        end

      {:DOWN, ^ref, :process, ^pid, reason} ->
        raise "workload #{w} failed: #{inspect(reason)}"
    end
  end

  # ---------------------------------------------------------------------------
  # helpers

  defp sz(n), do: if(Process.get(:quick), do: div(n, 10), else: n)
  defp now_ns, do: System.monotonic_time(:nanosecond)
  defp rate(count, ns), do: count / (ns / 1.0e9)
  defp ms(ns), do: ns / 1.0e6

  defp result(w, value, unit), do: IO.puts("RESULT #{w} #{@impl_name} #{fmt(value)} #{unit}")
  defp comment(text), do: IO.puts("# " <> text)

  defp fmt(:nan), do: "NaN"
  defp fmt(v) when is_integer(v), do: Integer.to_string(v)
  defp fmt(v) when is_float(v) and v >= 1000.0, do: Integer.to_string(round(v))
  defp fmt(v) when is_float(v), do: :erlang.float_to_binary(v, [{:decimals, 4}, :compact])

  # synchronous stop of a linked supervisor (frees its registered name)
  defp stop_sup(pid) do
    Process.unlink(pid)
    Supervisor.stop(pid, :shutdown, :infinity)
  end

  defp logging_off do
    Logger.configure(level: :none)
    :logger.set_primary_config(:level, :none)
  end

  # VmRSS of this OS process in bytes
  defp rss do
    [_, kb] = Regex.run(~r/VmRSS:\s+(\d+)\s+kB/, File.read!("/proc/self/status"))
    String.to_integer(kb) * 1024
  end

  # wait until all run queues are empty, then settle briefly
  defp quiesce do
    if :erlang.statistics(:total_run_queue_lengths_all) == 0 do
      Process.sleep(200)
      if :erlang.statistics(:total_run_queue_lengths_all) != 0, do: quiesce()
    else
      Process.sleep(20)
      quiesce()
    end
  end

  defp mem_snapshot do
    :erlang.garbage_collect()
    quiesce()
    {rss(), :erlang.memory(:processes)}
  end

  defp repeat(0, _fun), do: :ok

  defp repeat(n, fun) do
    fun.()
    repeat(n - 1, fun)
  end

  # ---------------------------------------------------------------------------
  # workloads

  defp workload("spawn_1m") do
    n = sz(1_000_000)
    root = self()
    # See ember_peers.erl: with the default on_heap mailbox the root's GCs
    # rescan the growing mailbox while it is still spawning (quadratic).
    Process.flag(:message_queue_data, :off_heap)
    t0 = now_ns()
    spawn_n(n, root)
    recv_n(n)
    t1 = now_ns()
    result("spawn_1m", rate(n, t1 - t0), "procs/s")
  end

  defp workload("skynet_1m") do
    size = sz(1_000_000)
    expected = div(size * (size - 1), 2)
    root = self()
    t0 = now_ns()
    spawn(fn -> skynet(root, 0, size, 10) end)
    sum = receive do: ({:sum, s} -> s)
    t1 = now_ns()
    if sum != expected, do: raise("skynet: wrong sum #{sum}, expected #{expected}")
    result("skynet_1m", (t1 - t0) / 1.0e9, "s")
  end

  defp workload("ping_pong") do
    n = sz(1_000_000)
    b = spawn(&pong/0)
    t0 = now_ns()
    ping(b, n)
    t1 = now_ns()
    send(b, :stop)
    result("ping_pong", rate(n, t1 - t0), "roundtrips/s")
  end

  defp workload("ring_1000x10000"), do: ring("ring_1000x10000", 1000, sz(10_000))
  defp workload("ring_10000x1000"), do: ring("ring_10000x1000", 10_000, sz(1000))

  defp workload("mem_idle_100k"), do: mem_idle("mem_idle_100k", sz(100_000))
  defp workload("mem_idle_1m"), do: mem_idle("mem_idle_1m", sz(1_000_000))

  defp workload("exit_cascade_100k") do
    n = sz(100_000)
    root = self()
    head = spawn(fn -> chain(root, n - 1) end)
    tail = receive do: ({:tail, t} -> t)
    mref = Process.monitor(tail)
    t0 = now_ns()
    Process.exit(head, :kill)

    receive do
      {:DOWN, ^mref, :process, ^tail, _} -> :ok
    end

    t1 = now_ns()
    result("exit_cascade_100k", ms(t1 - t0), "ms")
  end

  defp workload("monitor_down") do
    n = sz(100_000)
    pids = for _ <- 1..n, do: spawn(fn -> receive do: (:stop -> :ok) end)
    quiesce()
    t0 = now_ns()
    monitor_down(pids)
    t1 = now_ns()
    result("monitor_down", rate(n, t1 - t0), "ops/s")
  end

  defp workload("genserver_call_1") do
    n = sz(1_000_000)
    {:ok, s} = GenServer.start(EmberPeers.Worker, {:counter, 0})
    t0 = now_ns()
    call_n(s, n)
    t1 = now_ns()
    GenServer.stop(s)
    result("genserver_call_1", rate(n, t1 - t0), "calls/s")
  end

  defp workload("genserver_call_100") do
    callers = 100
    per = sz(10_000)
    {:ok, s} = GenServer.start(EmberPeers.Worker, {:counter, 0})
    root = self()
    t0 = now_ns()

    for _ <- 1..callers do
      spawn(fn ->
        call_n(s, per)
        send(root, :caller_done)
      end)
    end

    for _ <- 1..callers, do: receive(do: (:caller_done -> :ok))
    t1 = now_ns()
    GenServer.stop(s)
    result("genserver_call_100", rate(callers * per, t1 - t0), "calls/s")
  end

  defp workload("mem_hibernated_genserver_1m") do
    n = sz(1_000_000)
    {rss0, vm0} = mem_snapshot()
    repeat(n, fn -> {:ok, _} = GenServer.start(EmberPeers.Worker, {:hibernate, 0}) end)
    {rss1, vm1} = mem_snapshot()
    result("mem_hibernated_genserver_1m", (rss1 - rss0) / n, "bytes/proc")
    result("mem_hibernated_genserver_1m_vm", (vm1 - vm0) / n, "bytes/proc")
  end

  defp workload("restart_latency") do
    logging_off()
    n = sz(10_000)

    {:ok, sup} =
      Supervisor.start_link([{EmberPeers.RestartChild, self()}],
        strategy: :one_for_one,
        max_restarts: 1_000_000,
        max_seconds: 1
      )

    first = receive do: ({:started, p} -> p)
    lat = restart_loop(n, first, [])
    stop_sup(sup)
    sorted = Enum.sort(lat)
    result("restart_latency_median", percentile(sorted, 0.50), "us")
    result("restart_latency_p99", percentile(sorted, 0.99), "us")
    # The (OTP) supervisor keeps a list of the restarts of the last
    # `max_seconds` and walks it on every restart, so with max_restarts
    # 1,000,000 a restart gets slower the more restarts happened in the last
    # 1-2 s. Show the first and last 1000.
    in_order = Enum.reverse(lat)
    k = min(1000, n)
    first = in_order |> Enum.take(k) |> Enum.sort()
    last = in_order |> Enum.take(-k) |> Enum.sort()

    comment(
      "restart_latency elixir: first #{k} restarts median #{fmt(percentile(first, 0.5))} us " <>
        "p99 #{fmt(percentile(first, 0.99))} us; last #{k} median #{fmt(percentile(last, 0.5))} us " <>
        "p99 #{fmt(percentile(last, 0.99))} us"
    )
  end

  defp workload("sup_static_10k") do
    logging_off()
    n = sz(10_000)

    children =
      for i <- 1..n do
        Supervisor.child_spec({EmberPeers.Worker, i}, id: i)
      end

    t0 = now_ns()
    {:ok, sup} = Supervisor.start_link(children, strategy: :one_for_one)
    t1 = now_ns()
    ^n = length(Supervisor.which_children(sup))
    t2 = now_ns()
    :ok = Supervisor.stop(sup)
    t3 = now_ns()
    result("sup_static_10k_start", ms(t1 - t0), "ms")
    result("sup_static_10k_shutdown", ms(t3 - t2), "ms")
  end

  defp workload("dynsup_start_child_100k") do
    logging_off()
    n = sz(100_000)
    {:ok, sup} = DynamicSupervisor.start_link(strategy: :one_for_one)
    t0 = now_ns()
    dyn_start_n(sup, EmberPeers.Worker, n)
    t1 = now_ns()
    result("dynsup_start_child_100k", rate(n, t1 - t0), "children/s")
  end

  defp workload("dynsup_idle_1m_rss") do
    logging_off()
    n = sz(1_000_000)
    {rss0, _} = mem_snapshot()
    {:ok, sup} = DynamicSupervisor.start_link(strategy: :one_for_one)
    dyn_start_n(sup, EmberPeers.HibWorker, n)
    {rss1, _} = mem_snapshot()
    result("dynsup_idle_1m_rss", (rss1 - rss0) / n, "bytes/child")
    result("dynsup_idle_1m_rss_total", (rss1 - rss0) / (1024 * 1024), "MiB")
  end

  defp workload("dynsup_shutdown_100k"), do: dynsup_shutdown("dynsup_shutdown_100k", sz(100_000))
  defp workload("dynsup_shutdown_1m"), do: dynsup_shutdown("dynsup_shutdown_1m", sz(1_000_000))

  defp workload("partition_start_child_2x2") do
    logging_off()
    per = sz(50_000)
    name = EmberPeers.Partitions

    {:ok, ps} =
      PartitionSupervisor.start_link(child_spec: DynamicSupervisor, name: name, partitions: 2)

    # caller k uses routing key k, so the two callers hit different partitions
    targets = for k <- 0..1, do: {:via, PartitionSupervisor, {name, k}}
    elapsed = concurrent_start(targets, per)
    stop_sup(ps)
    result("partition_start_child_2x2", rate(2 * per, elapsed), "children/s")
  end

  defp workload("dynsup_start_child_2callers") do
    logging_off()
    per = sz(50_000)
    {:ok, sup} = DynamicSupervisor.start_link(strategy: :one_for_one)
    elapsed = concurrent_start([sup, sup], per)
    result("dynsup_start_child_2callers", rate(2 * per, elapsed), "children/s")
  end

  defp workload("registry_lookup_1core"), do: registry_lookup("registry_lookup_1core", 1)
  defp workload("registry_lookup_2cores"), do: registry_lookup("registry_lookup_2cores", 2)

  defp workload("registry_register_unregister") do
    n = sz(1_000_000)
    {:ok, regsup} = Registry.start_link(keys: :unique, name: EmberPeers.Reg)
    t0 = now_ns()
    reg_unreg(EmberPeers.Reg, n)
    t1 = now_ns()
    stop_sup(regsup)
    result("registry_register_unregister", rate(n, t1 - t0), "ops/s")
  end

  defp workload("via_call") do
    n = sz(1_000_000)
    {:ok, regsup} = Registry.start_link(keys: :unique, name: EmberPeers.Reg)
    via = {:via, Registry, {EmberPeers.Reg, :server}}
    {:ok, _pid} = GenServer.start(EmberPeers.Worker, {:counter, 0}, name: via)
    t0 = now_ns()
    call_n(via, n)
    t1 = now_ns()
    stop_sup(regsup)
    result("via_call", rate(n, t1 - t0), "calls/s")
  end

  defp workload("pid_call") do
    n = sz(1_000_000)
    {:ok, regsup} = Registry.start_link(keys: :unique, name: EmberPeers.Reg)
    via = {:via, Registry, {EmberPeers.Reg, :server}}
    {:ok, pid} = GenServer.start(EmberPeers.Worker, {:counter, 0}, name: via)
    t0 = now_ns()
    call_n(pid, n)
    t1 = now_ns()
    stop_sup(regsup)
    result("pid_call", rate(n, t1 - t0), "calls/s")
  end

  # ---------------------------------------------------------------------------
  # helpers for the workloads

  defp spawn_n(0, _root), do: :ok

  defp spawn_n(n, root) do
    spawn(fn -> send(root, :done) end)
    spawn_n(n - 1, root)
  end

  defp recv_n(0), do: :ok

  defp recv_n(n) do
    receive do
      :done -> recv_n(n - 1)
    end
  end

  defp skynet(parent, num, 1, _div), do: send(parent, {:sum, num})

  defp skynet(parent, num, size, div) do
    me = self()
    sub = div(size, div)
    for i <- 0..(div - 1), do: spawn(fn -> skynet(me, num + i * sub, sub, div) end)
    send(parent, {:sum, skynet_sum(div, 0)})
  end

  defp skynet_sum(0, acc), do: acc

  defp skynet_sum(k, acc) do
    receive do
      {:sum, s} -> skynet_sum(k - 1, acc + s)
    end
  end

  defp pong do
    receive do
      {:ping, from} ->
        send(from, :pong)
        pong()

      :stop ->
        :ok
    end
  end

  defp ping(_b, 0), do: :ok

  defp ping(b, n) do
    send(b, {:ping, self()})

    receive do
      :pong -> ping(b, n - 1)
    end
  end

  # Ring of n processes; the token carries the number of hops left. Setup is
  # excluded from the timing.
  defp ring(w, n, laps) do
    root = self()
    first = spawn(fn -> ring_first(root) end)
    last = Enum.reduce(1..(n - 1), first, fn _, next -> spawn(fn -> ring_node(next, root) end) end)
    # node k forwards to node k-1, node 1 to first, first to last: a ring.
    send(first, {:next, last})
    receive do: (:ring_ready -> :ok)
    hops = n * laps
    t0 = now_ns()
    send(first, {:token, hops})
    receive do: (:ring_done -> :ok)
    t1 = now_ns()
    result(w, rate(hops, t1 - t0), "hops/s")
  end

  defp ring_first(root) do
    receive do
      {:next, next} ->
        send(root, :ring_ready)
        ring_node(next, root)
    end
  end

  defp ring_node(next, root) do
    receive do
      {:token, 1} ->
        send(root, :ring_done)
        ring_node(next, root)

      {:token, h} ->
        send(next, {:token, h - 1})
        ring_node(next, root)
    end
  end

  defp mem_idle(w, n) do
    {rss0, vm0} = mem_snapshot()
    spawn_idle(n)
    {rss1, vm1} = mem_snapshot()
    result(w, (rss1 - rss0) / n, "bytes/proc")
    result(w <> "_vm", (vm1 - vm0) / n, "bytes/proc")
  end

  defp spawn_idle(0), do: :ok

  defp spawn_idle(n) do
    spawn(fn -> receive do: (:stop -> :ok) end)
    spawn_idle(n - 1)
  end

  # process k of the chain spawns (and links to) k+1; the last one reports
  defp chain(root, 0) do
    send(root, {:tail, self()})
    receive do: (:stop -> :ok)
  end

  defp chain(root, k) do
    spawn_link(fn -> chain(root, k - 1) end)
    receive do: (:stop -> :ok)
  end

  defp monitor_down([]), do: :ok

  defp monitor_down([p | ps]) do
    ref = Process.monitor(p)
    send(p, :stop)

    receive do
      {:DOWN, ^ref, :process, _, _} -> :ok
    end

    monitor_down(ps)
  end

  defp call_n(_s, 0), do: :ok

  defp call_n(s, n) do
    _ = GenServer.call(s, :get)
    call_n(s, n - 1)
  end

  defp restart_loop(0, _child, acc), do: acc

  defp restart_loop(n, child, acc) do
    t0 = now_ns()
    Process.exit(child, :kill)

    receive do
      {:started, new} ->
        t1 = now_ns()
        restart_loop(n - 1, new, [(t1 - t0) / 1000.0 | acc])
    end
  end

  # nearest-rank percentile
  defp percentile(sorted, p) do
    len = length(sorted)
    idx = len |> Kernel.*(p) |> Float.ceil() |> round() |> max(1) |> min(len)
    Enum.at(sorted, idx - 1)
  end

  defp dyn_start_n(_sup, _mod, 0), do: :ok

  defp dyn_start_n(sup, mod, n) do
    {:ok, _} = DynamicSupervisor.start_child(sup, {mod, n})
    dyn_start_n(sup, mod, n - 1)
  end

  defp dynsup_shutdown(w, n) do
    logging_off()
    bound_s = shutdown_bound_s()
    {:ok, sup} = DynamicSupervisor.start_link(strategy: :one_for_one)
    dyn_start_n(sup, EmberPeers.HibWorker, n)
    quiesce()
    Process.unlink(sup)
    me = self()
    # the stop runs in a helper process so that the bench can give up after
    # bound_s seconds
    stopper =
      spawn(fn ->
        t0 = now_ns()
        :ok = DynamicSupervisor.stop(sup, :normal, :infinity)
        send(me, {:stopped, self(), now_ns() - t0})
      end)

    receive do
      {:stopped, ^stopper, ns} -> result(w, ms(ns), "ms")
    after
      bound_s * 1000 ->
        comment(
          "#{w}: DynamicSupervisor.stop/1 with #{n} children did not finish within " <>
            "#{bound_s} s (bound); reporting NaN"
        )

        result(w, :nan, "ms")
    end
  end

  defp shutdown_bound_s do
    case System.get_env("EMBER_PEERS_SHUTDOWN_BOUND_S") do
      nil -> @default_shutdown_bound_s
      s -> String.to_integer(s)
    end
  end

  # start `per` children from each of length(targets) concurrent callers
  # (caller i uses targets[i]); returns elapsed ns until all callers are done
  defp concurrent_start(targets, per) do
    root = self()

    callers =
      for target <- targets do
        spawn(fn ->
          receive do: (:go -> :ok)
          dyn_start_n(target, EmberPeers.Worker, per)
          send(root, {:caller_done, self()})
        end)
      end

    t0 = now_ns()
    Enum.each(callers, &send(&1, :go))
    for c <- callers, do: receive(do: ({:caller_done, ^c} -> :ok))
    now_ns() - t0
  end

  defp registry_lookup(w, concurrency) do
    n = sz(1_000_000)
    nkeys = 10_000
    reg = EmberPeers.Reg
    {:ok, regsup} = Registry.start_link(keys: :unique, name: reg)
    root = self()

    # 10,000 processes, each registering one unique key
    for k <- 0..(nkeys - 1) do
      spawn(fn ->
        {:ok, _} = Registry.register(reg, k, nil)
        send(root, :registered)
        receive do: (:stop -> :ok)
      end)
    end

    for _ <- 1..nkeys, do: receive(do: (:registered -> :ok))

    # pre-generated random keys, so the loop measures lookups, not :rand
    keys = List.to_tuple(for _ <- 1..65_536, do: :rand.uniform(nkeys) - 1)

    callers =
      for _ <- 1..concurrency do
        spawn(fn ->
          receive do: (:go -> :ok)
          lookup_n(reg, keys, n)
          send(root, {:caller_done, self()})
        end)
      end

    t0 = now_ns()
    Enum.each(callers, &send(&1, :go))
    for c <- callers, do: receive(do: ({:caller_done, ^c} -> :ok))
    t1 = now_ns()
    stop_sup(regsup)
    result(w, rate(concurrency * n, t1 - t0), "lookups/s")
  end

  defp lookup_n(_reg, _keys, 0), do: :ok

  defp lookup_n(reg, keys, n) do
    [{_pid, _}] = Registry.lookup(reg, elem(keys, Bitwise.band(n, 65_535)))
    lookup_n(reg, keys, n - 1)
  end

  defp reg_unreg(_reg, 0), do: :ok

  defp reg_unreg(reg, n) do
    {:ok, _} = Registry.register(reg, n, nil)
    :ok = Registry.unregister(reg, n)
    reg_unreg(reg, n - 1)
  end
end

System.halt(EmberPeers.main(System.argv()))
