"""hsi_server: the GenerateInteraction action server over zerohsi_core.pipeline, with scene discovery and
latched trajectory topics. Goals run in executor worker threads, one at a time; goals that arrive while one
runs wait in a bounded queue (feedback stage "queued"); beyond it they are aborted as busy, saying why."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from trajectory_msgs.msg import MultiDOFJointTrajectory

from zerohsi_core.batch_ray import RayRunner
from zerohsi_core.config import Config
from zerohsi_core.errors import AssetError, BackendError, Cancelled, ConfigError, InputError, ZeroHSIError
from zerohsi_core.pipeline import Pipeline, SequenceResult
from zerohsi_core.progress import CancelToken
from zerohsi_core.scene.registry import list_scenes
from zerohsi_ros.action import GenerateInteraction
from zerohsi_ros.conversions import matrix_to_pose
from zerohsi_ros.feedback import ProgressTracker
from zerohsi_ros.goals import Busy, NotFound, interaction_request, result_messages, write_result_dir
from zerohsi_ros.msg import ObjectTrajectory, SmplxTrajectory
from zerohsi_ros.node_main import run_node
from zerohsi_ros.parameters import build_config, declare_parameters, server_options
from zerohsi_ros.srv import ListScenes

Result = GenerateInteraction.Result
# Core exceptions → result codes (checked in order; anything else is INTERNAL_ERROR).
ERROR_CODES: tuple[tuple[type[Exception], int], ...] = (
    (Cancelled, Result.CANCELED),
    (NotFound, Result.NOT_FOUND),
    (AssetError, Result.NOT_FOUND),
    (InputError, Result.INVALID_GOAL),
    (ConfigError, Result.INVALID_GOAL),
    (Busy, Result.BACKEND_ERROR),
    (BackendError, Result.BACKEND_ERROR),
)
LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
LOCK_POLL_S = 0.1  # how often a queued goal checks for cancellation
SPARE_THREADS = 3  # executor threads beyond the queued goals: the running goal, services, cancels


class HsiServer(Node):
    """Thin node: goal → InteractionRequest → Pipeline.run → result messages and topics."""

    def __init__(self) -> None:
        # Every goal runs on this one thread: torch's allocations then reuse one malloc arena, so the
        # resident memory stays flat over many goals instead of growing with each executor thread used.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zerohsi_pipeline")
        super().__init__("hsi_server", automatically_declare_parameters_from_overrides=True)
        self._given = declare_parameters(self)
        self.options = server_options(self)
        self.cfg = build_config(self._given, self.options)  # ConfigError: invalid parameters
        self._pipelines: dict[tuple[str, ...], Pipeline] = {}
        self._pipelines_lock = threading.Lock()
        self._runners: dict[str, RayRunner] = {}
        self._pipeline(self.cfg)  # loads the body model and avatar now: missing files fail at start-up
        self._run_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._pending = 0  # accepted goals not finished yet
        self._tokens: dict[bytes, CancelToken] = {}
        group = ReentrantCallbackGroup()
        self.smplx_pub = self.create_publisher(SmplxTrajectory, "~/smplx_trajectory", LATCHED)
        self.joint_pub = self.create_publisher(MultiDOFJointTrajectory, "~/joint_trajectory", LATCHED)
        self.object_pub = self.create_publisher(ObjectTrajectory, "~/object_trajectory", LATCHED)
        self.create_service(ListScenes, "~/list_scenes", self._on_list_scenes, callback_group=group)
        self._server = ActionServer(
            self,
            GenerateInteraction,
            "~/generate_interaction",
            execute_callback=self._execute,
            goal_callback=self._on_goal,
            cancel_callback=self._on_cancel,
            callback_group=group,
        )
        self.get_logger().info(
            f"ready: profile {self.cfg.profile}, video {self.cfg.video.backend}, device {self.cfg.device}"
        )

    def destroy_node(self) -> None:
        """Stop the pipeline thread (a running goal was already canceled by the shutdown), then the node."""
        self._worker.shutdown(wait=False, cancel_futures=True)
        super().destroy_node()

    def _pipeline(self, cfg: Config) -> Pipeline:
        """One Pipeline (loaded models) per distinct config, built on first use."""
        key = (repr(cfg),)
        with self._pipelines_lock:
            if key not in self._pipelines:
                self._pipelines[key] = Pipeline(cfg)
            return self._pipelines[key]

    def _runner(self, cfg: Config) -> Pipeline | RayRunner:
        """Goals run on a Ray cluster when cluster.ray_address is set (a shared GPU pool), else here."""
        if not cfg.cluster.ray_address:
            return self._pipeline(cfg)
        key = repr(cfg)
        with self._pipelines_lock:
            if key not in self._runners:  # connects once per config, not on every goal
                self._runners[key] = RayRunner(cfg)
            return self._runners[key]

    def _on_list_scenes(
        self, request: ListScenes.Request, response: ListScenes.Response
    ) -> ListScenes.Response:
        try:
            response.scene_ids = list_scenes(self.cfg.scene.registry or None)
            if request.scene_id:
                if request.scene_id not in response.scene_ids:
                    raise NotFound(f"unknown scene {request.scene_id!r}; available: {response.scene_ids}")
                scene = self._pipeline(self.cfg).load_scene(request.scene_id)
                response.object_ids = sorted(scene.objects)
                response.object_poses = [matrix_to_pose(scene.objects[o].pose) for o in response.object_ids]
                response.affordances = sorted(scene.affordances)
            response.success = True
        except ZeroHSIError as err:
            response.success, response.message = False, str(err)
        return response

    def _on_goal(self, goal: GenerateInteraction.Goal) -> GoalResponse:
        return GoalResponse.ACCEPT  # a full queue aborts the goal in _execute, where it can say why

    def _admit(self) -> None:
        """Count a goal in, or raise Busy saying how full the queue is."""
        queued = self.options.max_queued_goals if self.options.queue_goals else 0
        with self._state_lock:
            if self._pending >= 1 + queued:
                raise Busy(
                    f"server busy: 1 goal running and {self._pending - 1} queued (queue_goals="
                    f"{self.options.queue_goals}, max_queued_goals={self.options.max_queued_goals}); "
                    "send the goal again when one finishes"
                )
            self._pending += 1

    def _on_cancel(self, handle: ServerGoalHandle) -> CancelResponse:
        self._token(handle).cancel()  # the core checks it every optimisation iteration
        return CancelResponse.ACCEPT

    def _token(self, handle: ServerGoalHandle) -> CancelToken:
        with self._state_lock:
            return self._tokens.setdefault(bytes(handle.goal_id.uuid), CancelToken())

    def _execute(self, handle: ServerGoalHandle) -> GenerateInteraction.Result:
        try:
            self._admit()
        except Busy as err:
            return self._finish(handle, err)
        token = self._token(handle)
        try:
            acquired = self._run_lock.acquire(blocking=False)
            if not acquired:
                handle.publish_feedback(GenerateInteraction.Feedback(stage="queued"))
            while not acquired:
                if token.cancelled:
                    return self._finish(handle, Cancelled("canceled while queued"))
                acquired = self._run_lock.acquire(timeout=LOCK_POLL_S)
            try:
                return self._worker.submit(self._run, handle, token).result()
            finally:
                self._run_lock.release()
        finally:
            with self._state_lock:
                self._pending -= 1
                self._tokens.pop(bytes(handle.goal_id.uuid), None)

    def _run(self, handle: ServerGoalHandle, token: CancelToken) -> GenerateInteraction.Result:
        goal: GenerateInteraction.Goal = handle.request
        start = time.monotonic()
        try:
            token.check()
            cfg = build_config(
                self._given,
                self.options,
                profile=goal.profile,
                video_backend=goal.video_backend,
                segment_backend=goal.segment_backend,
            )
            request = interaction_request(goal, cfg, self.options.frame_id)
            tracker = ProgressTracker(len(request.prompts))
            self.get_logger().info(
                f"goal: {list(request.prompts)} in {request.scene_id or cfg.scene.default!r}"
            )
            sequence = self._runner(cfg).run(
                request, progress=lambda e: handle.publish_feedback(tracker.feedback(e)), cancel=token
            )
            handle.publish_feedback(tracker.finished("writing"))
            result = self._publish(sequence, cfg, time.monotonic() - start)
        except Exception as err:  # every failure becomes a result; the server keeps serving
            return self._finish(handle, err)
        handle.succeed()
        self.get_logger().info(f"goal succeeded: {result.message}")
        return result

    def _publish(self, sequence: SequenceResult, cfg: Config, seconds: float) -> GenerateInteraction.Result:
        stamp = self.get_clock().now().to_msg()
        result = result_messages(sequence, cfg, self.options.frame_id, stamp, seconds)
        self.smplx_pub.publish(result.smplx_trajectory)
        self.joint_pub.publish(result.joint_trajectory)
        if result.object_trajectory.poses:
            self.object_pub.publish(result.object_trajectory)
        if self.options.write_results:
            result.result_dir, note = write_result_dir(sequence, cfg)
            if note:
                self.get_logger().warning(note)
                result.message += f"; {note}"
        return result

    def _finish(self, handle: ServerGoalHandle, err: Exception) -> GenerateInteraction.Result:
        code = next((c for kind, c in ERROR_CODES if isinstance(err, kind)), Result.INTERNAL_ERROR)
        message = str(err) if isinstance(err, ZeroHSIError) else f"{type(err).__name__}: {err}"
        if code == Result.CANCELED:
            handle.canceled()
            self.get_logger().info(f"goal canceled: {message}")
        else:
            handle.abort()
            log = self.get_logger().error if code == Result.INTERNAL_ERROR else self.get_logger().warning
            log(f"goal aborted ({code}): {message}")
        return Result(error_code=code, message=message)


def main(args: list[str] | None = None) -> int:
    """Entry point of the `hsi_server` executable; exits 2 on invalid parameters or missing files."""

    def executor(node: Node) -> MultiThreadedExecutor:
        return MultiThreadedExecutor(num_threads=node.options.max_queued_goals + SPARE_THREADS)

    return run_node("hsi_server", HsiServer, executor, args)


if __name__ == "__main__":
    raise SystemExit(main())
